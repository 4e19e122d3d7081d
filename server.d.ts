import type { createPlugin } from "./lib/plugin.js"

/**
 * What OpenCode 1.14 and later load (`server(input, options)` once per
 * project instance) and what OpenCode 2 loads (`setup(ctx)`, which returns
 * the cleanup OpenCode runs when it unloads the plugin).
 */
declare const plugin: {
  id: "opencode-sessions"
  server: typeof createPlugin
  setup(ctx: object): Promise<(() => Promise<void>) | undefined>
}
export default plugin
