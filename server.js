// The package's `./server` entry: OpenCode 1.14 and later call
// `server(input, options)` of this default export once per project instance;
// OpenCode 2 calls `setup(ctx)` (it decodes a plain object only). OpenCode
// 1.0–1.3 cannot load an object default export; they load
// lib/opencode-sessions.js instead.

import { setup } from "./lib/hosts/opencode-v2.js"
import { createPlugin } from "./lib/plugin.js"

export default { id: "opencode-sessions", server: createPlugin, setup }
