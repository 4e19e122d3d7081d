// The adapter for OpenCode 2's plugin API (`setup(ctx)` of the default
// export). It finds out what this build's context offers (capabilities.js),
// builds the engine with the modes it cannot do left out, registers the
// `session` tool through `ctx.tool.transform`, reads the host's events into
// engine inputs (events.js) and performs the engine's requests through the
// context (requests.js). It imports nothing of OpenCode 2's SDK.
//
// OpenCode 1.18 calls `setup` too, with a reduced context (no tool, session
// or event domain) while its V1 `server` entry runs the plugin: there this
// does nothing at all.

import { createDriver } from "../driver.js"
import { createJournal, reportLeftovers } from "../journal.js"
import { loadNative } from "../native.js"
import { PLUGIN_MARK } from "./opencode-v1/marker.js"
import { toolCallInput } from "./opencode-v1/tool.js"
import { probe } from "./opencode-v2/capabilities.js"
import { createEventReader } from "./opencode-v2/events.js"
import { createPermissionCheck } from "./opencode-v2/permission.js"
import { createRequester } from "./opencode-v2/requests.js"

const SERVICE = "opencode-sessions"

/** The levels and toast variants written; the info lines of each relay would be noise on a terminal. */
const WRITTEN = new Set(["warn", "warning", "error"])

/**
 * OpenCode 2's server plugin context has no log and no toast (those are a
 * TUI plugin's), so warnings and errors go to stderr.
 * @type {import("../driver.js").Host["log"]}
 */
async function log(level, message) {
  if (WRITTEN.has(level)) console.error(`[${SERVICE}] ${level}: ${message}`)
}

/** @type {import("../driver.js").Host["toast"]} */
async function toast({ variant, title, message }) {
  if (WRITTEN.has(variant)) console.error(`[${SERVICE}] ${variant}: ${title}: ${message}`)
}

/**
 * @param {object} ctx the plugin context OpenCode 2 passes
 * @returns {Promise<(() => Promise<void>) | undefined>} the cleanup OpenCode runs when it unloads the plugin
 */
export async function setup(ctx) {
  const found = probe(ctx)
  if (found.shape === "reduced") return undefined
  if (found.shape === "unexpected") {
    await log("error", `the plugin context this OpenCode passed has no ${found.missing.join(", ")}; the session tool is not registered`)
    return undefined
  }
  const { RelayEngine, optionsRefusedTitle } = await loadNative()
  let engine
  try {
    engine = new RelayEngine(ctx.options ?? null, found.limits)
  } catch (error) {
    // The engine's message names the option and says where to fix it.
    const message = String(error?.message ?? error)
    await toast({ variant: "error", title: optionsRefusedTitle(), message })
    throw new Error(message, { cause: error })
  }
  const requester = createRequester(ctx, found.server)
  const checkPermission = createPermissionCheck(ctx)
  const host = {
    log,
    toast,
    // A permission request carries the tool call that asked: its context names the session and the agent.
    perform: (request, timeoutMs, call) =>
      request.op === "askPermission" ? checkPermission(request.pattern, call?.host) : requester.perform(request, timeoutMs),
  }
  const journal = createJournal({ directory: projectDirectory(ctx), log })
  const driver = createDriver({ engine, host, journal })

  await registerTool(ctx, driver, engine)
  await ctx.session.hook("prompt", (prompt) => {
    const sessionId = prompt?.sessionID
    if (typeof sessionId !== "string") return
    const fromPlugin = prompt.metadata?.[PLUGIN_MARK] === true
    driver.input((engine) => engine.userMessage(sessionId, fromPlugin))
  })
  const stop = follow(ctx, createEventReader(driver.input, requester.compactions, malformed))
  setTimeout(() => void reportLeftovers(journal, driver, log), 0)
  return async () => {
    await stop()
    driver.dispose()
  }
}

const malformed = (detail) => void log("error", `malformed event: ${detail}`)

/** The project directory, which names the file of pending hand-offs. */
function projectDirectory(ctx) {
  const directory = ctx.location?.directory
  return typeof directory === "string" && directory !== "" ? directory : process.cwd()
}

/**
 * The tool takes raw JSON Schema (no schema library is loaded) and opts out
 * of Code Mode, or the model could not call it directly. Its permission is
 * OpenCode 2's default for a tool, its id `session`: the registry hides the
 * tool when the rules deny it wholly, and each hand-off is checked with its
 * own pattern in `execute` (opencode-v2/permission.js).
 */
function registerTool(ctx, driver, engine) {
  const text = engine.toolText()
  const tool = {
    name: "session",
    description: text.description,
    input: {
      type: "object",
      properties: {
        text: { type: "string", description: text.text },
        mode: { type: "string", enum: engine.enabledModes(), description: text.mode },
        agent: { type: "string", description: text.agent },
        ...(text.session ? { session: { type: "string", description: text.session } } : {}),
      },
      required: ["mode"],
    },
    options: { codemode: false },
    async execute(input, context) {
      return { content: await driver.toolCall(toolCallInput(input, context), context) }
    },
  }
  return ctx.tool.transform((editor) => editor.add(tool))
}

/** The waits before subscribing again after the event stream ended, the last one repeated. */
const RESUBSCRIBE_MS = [100, 500, 2_000, 10_000, 30_000]

/**
 * Reads the host's event stream until `stop()`; one event the reader cannot
 * take is logged and the next is read. OpenCode 2 ends a stream when one
 * event fails to encode: then it is subscribed to again, after a wait that
 * grows up to 30 s while the stream keeps ending before it gave an event.
 * @returns {() => Promise<void>} stop
 */
function follow(ctx, readEvent) {
  let stopped = false
  let iterator
  let wake
  const done = (async () => {
    let attempt = 0
    while (!stopped) {
      let ended
      try {
        iterator = ctx.event.subscribe()[Symbol.asyncIterator]()
        for (;;) {
          const next = await iterator.next()
          if (next.done || stopped) break
          attempt = 0
          try {
            readEvent(next.value)
          } catch (error) {
            await log("error", `an event could not be read: ${error?.message ?? error}`)
          }
        }
        ended = "it closed"
      } catch (error) {
        ended = error?.message ?? String(error)
      }
      if (stopped) break
      const waitMs = RESUBSCRIBE_MS[Math.min(attempt, RESUBSCRIBE_MS.length - 1)]
      attempt++
      await log("error", `the event stream ended (${ended}); subscribing again in ${waitMs} ms`)
      await new Promise((resolve) => {
        const timer = setTimeout(resolve, waitMs)
        wake = () => {
          clearTimeout(timer)
          resolve()
        }
      })
    }
  })()
  return async () => {
    stopped = true
    wake?.()
    await iterator?.return?.()
    await done
  }
}
