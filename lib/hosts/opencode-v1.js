// The adapter for OpenCode's v1 plugin API (`server(input, options)`): it
// turns OpenCode's events and hooks into engine inputs, reading the few
// fields the engine needs from OpenCode's objects, and performs the engine's
// requests with the SDK client (permissions through the calling tool's
// `ctx.ask`), its toasts and log lines through the client too.

import { sentByPlugin } from "./opencode-v1/marker.js"
import { askPermission, createUncheckedPolicy } from "./opencode-v1/permission.js"
import { createLogger, createRequester } from "./opencode-v1/requests.js"
import { createStoringRequester, createTurnEnd, startedByRun, unwrapRelays } from "./opencode-v1/run.js"
import { createSessionTool, refineDefinition } from "./opencode-v1/tool.js"
import { callGone } from "./permission-rules.js"

/** What the event hook returns: OpenCode does not wait for it. */
const SETTLED = Promise.resolve()

/** What the engine's refusals start with; a malformed event is logged the same way. */
const PREFIX = "opencode-sessions: "

/**
 * The host the driver runs the engine's actions through.
 * @param {import("@opencode-ai/plugin").PluginInput["client"]} client
 * @returns {import("../driver.js").Host}
 */
export function createHost(client) {
  const { log, toast } = createLogger(client)
  const requester = createRequester(client)
  const request = startedByRun() ? createStoringRequester(client, requester) : requester
  const unchecked = createUncheckedPolicy(client)
  return {
    log,
    toast,
    /**
     * Permission requests go through the calling tool's own `ctx.ask`. The
     * error it throws on a refusal is kept: the tool fails with it, so OpenCode
     * stops the turn when a person rejected, as it does for its own tools.
     */
    perform(req, timeoutMs, call, nowMs) {
      // Not async itself: a prompt goes straight to the requester, one promise fewer.
      return req.op === "askPermission" ? ask(req, call, unchecked) : request(req, timeoutMs, nowMs)
    },
  }
}

async function ask(req, call, unchecked) {
  if (!call?.host) return callGone()
  // OpenCode 1.0 has no permission rules for plugin tools and gives them no
  // `ask`: they run as every tool there does, as with OpenCode's default `allow`.
  if (typeof call.host.ask !== "function") return { type: "done" }
  const { outcome, error } = await askPermission(call.host.ask, req.pattern, unchecked)
  if (error) call.refusal = error
  return outcome
}

/**
 * The hooks OpenCode calls. They take what OpenCode passes without trusting
 * its shape: anything unexpected is ignored here or refused by the engine and logged.
 * @param {object} deps
 * @param {ReturnType<typeof import("../driver.js").createDriver>} deps.driver
 * @param {import("../../index.js").JsToolMode[]} deps.modes the modes the tool offers
 * @param {import("../../index.js").JsToolText} deps.toolText what the model reads about the tool
 * @param {string[]} deps.eventTypes the event types that can matter to the engine
 * @param {import("../driver.js").Host["log"]} deps.log
 * @param {import("@opencode-ai/plugin").PluginInput["client"]} [deps.client] reads a step's parts under `run`
 * @param {boolean} [deps.run] whether this process is OpenCode's `run` command (see opencode-v1/run.js)
 * @returns {import("@opencode-ai/plugin").Hooks}
 */
export function createHooks({ driver, modes, toolText, eventTypes, log, client, run = startedByRun() }) {
  // Filtering here keeps the thousands of streaming events per turn in JS.
  // Strings made by native code are not interned, so a hit would compare them
  // character by character; property keys are interned, which makes a hit as
  // cheap as a miss.
  const relevant = new Set(Object.keys(Object.fromEntries(eventTypes.map((type) => [type, true]))))
  const { read: readEvent, messageUpdated } = createEventReader(
    driver.input,
    (detail) => void log("error", `${PREFIX}malformed event: ${detail}`),
  )
  // The commonest event the engine reads goes straight to its reader, past
  // the set and both switches (`node bench/event-hook.mjs`: 1.4-1.5× the
  // pure-JS hook through them, 0.9× this way).
  const readsSteps = relevant.has(STEP_EVENT)
  const runCall = (call, context) =>
    driver.toolCall(call, { ask: typeof context?.ask === "function" ? (request) => context.ask(request) : null })
  const hooks = {
    tool: { session: createSessionTool(runCall, modes, toolText) },
    // Not async: the event hook is called for every event OpenCode sends, so
    // it returns one settled promise rather than making a new one each time.
    event(input) {
      try {
        const event = input?.event
        const type = event?.type
        if (type === STEP_EVENT) {
          if (readsSteps) messageUpdated(event.properties?.info)
        } else if (relevant.has(type) && worthReading(event)) readEvent(event)
      } catch (error) {
        // As an async hook would: a throw becomes a rejected promise.
        return Promise.reject(error)
      }
      return SETTLED
    },
    async "tool.definition"(input, output) {
      refineDefinition(input, output)
    },
    async "chat.message"(message, output) {
      const sessionId = message?.sessionID
      if (typeof sessionId === "string") {
        const fromPlugin = sentByPlugin(output?.parts)
        driver.input((engine) => engine.userMessage(sessionId, fromPlugin))
      }
    },
  }
  // `run` exits at its session's first idle: hand-offs go out as the turn
  // ends, inside it, and branch calls wait for their branch.
  if (run && client) {
    driver.input((engine) => {
      engine.hostEndsWithTurn()
      return null
    })
    hooks["experimental.text.complete"] = createTurnEnd(client, driver, log)
    hooks["experimental.chat.messages.transform"] = unwrapRelays
  }
  return hooks
}

/** A step of a turn begun or ended: an assistant message's `message.updated`. */
const STEP_EVENT = "message.updated"

/**
 * Of the many `message.part.updated` (text streams through them up to
 * OpenCode 1.3), only a tool part's can matter: it tells which tool runs.
 * (`message.updated` does not come here, see the event hook.)
 */
function worthReading(event) {
  switch (event.type) {
    case "message.part.updated":
      return event.properties?.part?.type === "tool"
    default:
      return true
  }
}

/** OpenCode's error name for a step a person stopped. */
const STOPPED = "MessageAbortedError"

/**
 * Reads an OpenCode bus event of a relevant type into the engine input it
 * stands for. A known type without the fields the engine needs means
 * OpenCode changed its event shapes: `malformed(detail)` says which field.
 * Fields the engine does not read are never looked at.
 * @param {(feed: (engine: import("../../index.js").RelayEngine, nowMs: number) => unknown) => unknown} input
 * @param {(detail: string) => void} malformed
 * @returns {{ read: (event: {type: string, properties?: unknown}) => void, messageUpdated: (info: unknown) => void }}
 *   `read` takes any event; `messageUpdated` the `properties.info` of a `message.updated`
 */
export function createEventReader(input, malformed) {
  /**
   * Sessions with a step begun and not yet completed. OpenCode up to 1.3
   * reports the idle of a stop before it records the step it cut off (and
   * its `session.error` after that): an idle while a step is open tells the
   * engine of that step first, so the stop counts as one.
   */
  const openSteps = new Set()
  /**
   * The tool parts told as running, with their session: a part is updated
   * many times while it runs. A deleted session's parts never end, so they
   * leave with it.
   * @type {Map<string, string>}
   */
  const toolsRunning = new Map()
  const closeOpenStep = (sessionId) => {
    if (openSteps.delete(sessionId)) input((engine, now) => engine.stepFinished(now, sessionId, null, STOPPED))
  }
  /** An assistant message is a step of a turn: begun, or ended once completed. */
  function messageUpdated(info) {
    if (info?.role !== "assistant" || !isId(info.sessionID)) return
    const sessionId = info.sessionID
    const completed = info.time?.completed
    if (completed === undefined) return void openSteps.add(sessionId)
    if (typeof completed !== "number") return
    openSteps.delete(sessionId)
    const finish = text(info.finish)
    const error = text(info.error?.name)
    input((engine, now) => engine.stepFinished(now, sessionId, finish, error))
  }
  function read(event) {
    const props = event.properties
    switch (event.type) {
      // The streaming events first: thousands per turn.
      case STEP_EVENT:
        return messageUpdated(props?.info)
      case "message.part.updated": {
        const part = props?.part
        const status = part?.state?.status
        if (!isId(part?.sessionID) || !isId(part.id) || !isId(part.tool)) return
        const running = status === "running"
        if (!running && status !== "completed" && status !== "error") return
        // Only the start and the end of each tool cross.
        if (running === toolsRunning.has(part.id)) return
        if (running) toolsRunning.set(part.id, part.sessionID)
        else toolsRunning.delete(part.id)
        const { sessionID: sessionId, id: partId, tool } = part
        return void input((engine, now) => engine.toolState(now, sessionId, partId, tool, running))
      }
      case "session.status": {
        const status = props?.status?.type
        if (typeof status !== "string") return malformed("session.status without properties.status.type")
        const sessionId = props.sessionID
        if (!isId(sessionId)) return malformed("session.status without properties.sessionID")
        // `retry` counts as busy: the turn is still running.
        const busy = status !== "idle"
        if (!busy) closeOpenStep(sessionId)
        return void input((engine, now) => engine.status(now, sessionId, busy))
      }
      case "session.idle": {
        const sessionId = props?.sessionID
        if (!isId(sessionId)) return malformed("session.idle without properties.sessionID")
        closeOpenStep(sessionId)
        return void input((engine, now) => engine.idle(now, sessionId))
      }
      case "session.compacted": {
        const sessionId = props?.sessionID
        if (!isId(sessionId)) return malformed("session.compacted without properties.sessionID")
        return void input((engine, now) => engine.compacted(now, sessionId))
      }
      case "session.deleted": {
        const sessionId = props?.info?.id
        if (!isId(sessionId)) return malformed("session.deleted without properties.info.id")
        openSteps.delete(sessionId)
        for (const [partId, partSession] of toolsRunning) if (partSession === sessionId) toolsRunning.delete(partId)
        return void input((engine, now) => engine.deleted(now, sessionId))
      }
      case "session.error": {
        // An error of no session (a plugin failing to load, say) is no error here.
        const sessionId = isId(props?.sessionID) ? props.sessionID : null
        const name = text(props?.error?.name)
        const message = text(props?.error?.data?.message)
        return void input((engine, now) => engine.sessionError(now, sessionId, name, message))
      }
      case "permission.asked":
      case "permission.updated":
      case "permission.replied":
      case "question.asked":
      case "question.replied":
      case "question.rejected":
        // Rare: they cross with the fields the engine reads of what they ask,
        // copied, since OpenCode 1.14's carry functions that cannot cross.
        return void input((engine, now) => engine.personEvent(now, personEventFields(event)))
    }
  }
  return { read, messageUpdated }
}

const isId = (value) => typeof value === "string" && value !== ""
const text = (value) => (typeof value === "string" ? value : null)

const PERSON_EVENT_TEXT = ["id", "sessionID", "requestID", "permissionID", "permission", "type", "pattern", "title"]

/** A permission or question event reduced to plain data: ids, what is asked, the first question. */
function personEventFields(event) {
  const props = event.properties ?? {}
  const properties = {}
  for (const key of PERSON_EVENT_TEXT) if (typeof props[key] === "string") properties[key] = props[key]
  if (Array.isArray(props.pattern)) properties.pattern = props.pattern.filter((p) => typeof p === "string")
  if (Array.isArray(props.patterns)) properties.patterns = props.patterns.filter((p) => typeof p === "string")
  const first = Array.isArray(props.questions) ? props.questions[0] : undefined
  if (first) properties.questions = [{ question: String(first.question ?? ""), header: String(first.header ?? "") }]
  return { type: event.type, properties }
}
