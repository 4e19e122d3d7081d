// The package's entry for OpenCode 1.14 and later (`exports["./server"]`):
// they call `server(input, options)` of this default export once per project
// instance. OpenCode 1.0–1.3 cannot load an object default export; they load
// lib/opencode-sessions.js instead.

import { createPlugin } from "./lib/plugin.js"

export default { id: "opencode-sessions", server: createPlugin }
