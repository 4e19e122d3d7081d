import type { createPlugin } from "./lib/plugin.js"

/** What OpenCode 1.14 and later load: `server(input, options)` once per project instance. */
declare const plugin: { id: "opencode-sessions"; server: typeof createPlugin }
export default plugin
