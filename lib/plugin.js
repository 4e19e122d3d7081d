// OpenCode entry point. OpenCode calls `server(input, options)` of the
// default export once per project instance.

import { createDriver } from "./driver.js"
import { createHost } from "./host.js"
import { loadNative } from "./native.js"
import { createRequester } from "./requests.js"
import { createSessionTool } from "./session-tool.js"

/** @type {import("./plugin.d.ts").createPlugin} */
export async function createPlugin(input, options = {}) {
  const { RelayEngine, relevantEventTypes } = await loadNative()
  const engine = new RelayEngine(engineOptions(options))
  const host = createHost(input.client)
  const driver = createDriver({
    engine,
    perform: createRequester(input.client),
    toast: host.toast,
    log: host.log,
  })
  // Filtering here keeps the thousands of streaming events per turn in JS.
  const relevant = new Set(relevantEventTypes())

  return {
    tool: { session: createSessionTool(driver.toolCall) },
    async event({ event }) {
      if (relevant.has(event?.type)) driver.event(event)
    },
  }
}

function engineOptions(options) {
  const picked = {}
  if (options?.requestTimeoutMs !== undefined) picked.requestTimeoutMs = options.requestTimeoutMs
  if (options?.summarizeTimeoutMs !== undefined) picked.summarizeTimeoutMs = options.summarizeTimeoutMs
  return picked
}

export default { id: "opencode-sessions", server: createPlugin }
