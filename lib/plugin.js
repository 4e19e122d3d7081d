// OpenCode entry point. OpenCode calls `server(input, options)` of the
// default export once per project instance.

import { createDriver } from "./driver.js"
import { createHost } from "./host.js"
import { createJournal } from "./journal.js"
import { sentByPlugin } from "./marker.js"
import { loadNative } from "./native.js"
import { createRequester } from "./requests.js"
import { createSessionTool, refineDefinition } from "./session-tool.js"

/** @type {import("./plugin.d.ts").createPlugin} */
export async function createPlugin(input, options) {
  const { RelayEngine, relevantEventTypes } = await loadNative()
  const host = createHost(input.client)
  const engine = await startEngine(RelayEngine, options, host)
  const journal = createJournal({ directory: input.directory, log: host.log })
  const driver = createDriver({
    engine,
    perform: createRequester(input.client),
    toast: host.toast,
    log: host.log,
    journal,
  })
  // After loading, not during it: the notes go through OpenCode's own API.
  setTimeout(() => void reportLeftovers(journal, driver, host), 0)
  // Filtering here keeps the thousands of streaming events per turn in JS.
  const relevant = new Set(relevantEventTypes())

  return {
    tool: { session: createSessionTool(driver.toolCall, engine.enabledModes()) },
    // Hooks take what OpenCode passes without trusting its shape: anything
    // unexpected is ignored here or refused by the engine and logged.
    async event(input) {
      const event = input?.event
      if (relevant.has(event?.type) && (event.type !== "message.updated" || finishedAssistant(event))) driver.event(event)
    },
    async "tool.definition"(input, output) {
      refineDefinition(input, output)
    },
    async "chat.message"(message, output) {
      if (typeof message?.sessionID === "string") driver.userMessage(message.sessionID, sentByPlugin(output?.parts))
    },
  }
}

/**
 * Of the many `message.updated` events, only an assistant message that
 * completed can matter (it tells how a step of the turn ended).
 */
function finishedAssistant(event) {
  const info = event.properties?.info
  return info?.role === "assistant" && info.time?.completed !== undefined
}

/** Pauses (ms) before each new look at lists whose process still ran. */
const LOOK_AGAIN_MS = [2_000, 10_000]

/**
 * Tells the sessions about hand-offs an OpenCode process that stopped left
 * pending. A process that was just killed may not have exited yet when the
 * next one starts, so its list is looked at again a little later.
 */
async function reportLeftovers(journal, driver, host, again = LOOK_AGAIN_MS) {
  try {
    const { lists, problems, waiting } = await journal.claimLeftovers()
    for (const problem of problems) await host.log("warn", problem)
    // One list at a time: one the engine cannot read does not lose the others.
    for (const { file, handoffs } of lists) {
      if (driver.restored(handoffs)) await journal.release(file)
      else await host.log("warn", `the hand-offs in ${file} could not be reported; the file is left in place`)
    }
    if (waiting > 0 && again.length > 0) {
      setTimeout(() => void reportLeftovers(journal, driver, host, again.slice(1)), again[0]).unref?.()
    }
  } catch (error) {
    await host.log("error", `could not look for hand-offs left by a stopped OpenCode: ${error?.message ?? error}`)
  }
}

/**
 * Validates the options by building the engine. A wrong option keeps the
 * plugin from loading: OpenCode logs the error, and a toast says what to fix.
 */
async function startEngine(RelayEngine, options, host) {
  try {
    return new RelayEngine(options ?? null)
  } catch (error) {
    const message = `${error?.message ?? error}. Fix it under "opencode-sessions" in the "plugin" list of opencode.json; the session tool stays off until then.`
    await host.toast({ variant: "error", title: "opencode-sessions not loaded", message })
    await host.log("error", message)
    throw new Error(message, { cause: error })
  }
}

export default { id: "opencode-sessions", server: createPlugin }
