// The package's `./server` entry, read by OpenCode 1.14+ (`server`) and
// OpenCode 2 (`setup`); a plain object, as OpenCode 2 decodes it.

import { createPlugin } from "./lib/plugin.js"
import { setup } from "./lib/hosts/opencode-v2.js"

export default { id: "opencode-sessions", server: createPlugin, setup }
