// OpenCode's `run` command sends one prompt and exits at the first idle of
// its session, so nothing may wait for that idle there. Instead the turn is
// held open where OpenCode awaits the plugin: the `experimental.text.complete`
// hook, which OpenCode awaits inside the step, before its loop decides
// whether the turn is over. A user message stored by then (the relay) is what
// the loop goes on with, so the session never goes idle in between.

import { PLUGIN_MARK } from "./marker.js"

/** Options of OpenCode's command line that take a value: the word after one is not the command. */
const VALUE_OPTIONS = new Set(["--log-level"])
/** How often OpenCode's messages are read while waiting for one to be stored. */
const POLL_MS = 25

/**
 * Whether this process is OpenCode's `run` command: the first word of its
 * command line that is no option (nor an option's value) is `run`.
 * @param {string[]} [argv]
 */
export function startedByRun(argv = process.argv) {
  for (let i = 2; i < argv.length; i++) {
    const word = argv[i]
    if (VALUE_OPTIONS.has(word)) i++
    else if (!word.startsWith("-")) return word === "run"
  }
  return false
}

/**
 * The requester for `run`: a prompt or summary counts as done once OpenCode
 * has stored it, since the turn that waits for it goes on with it. A summary's
 * own request returns only when the session's loop ends, which the waiting
 * turn holds up, so it is not awaited.
 * @param {import("@opencode-ai/plugin").PluginInput["client"]} client
 * @param {(request: import("../../../index.js").JsRequest, timeoutMs: number, nowMs?: number) => Promise<import("../../../index.js").JsOutcome>} request
 */
export function createStoringRequester(client, request) {
  return async function perform(req, timeoutMs, nowMs) {
    if (req.op === "prompt") {
      const outcome = await request(req, timeoutMs, nowMs)
      if (outcome.type !== "done") return outcome
      return waitUntil(client, req.sessionId, timeoutMs, (messages) => holdsPrompt(messages, req.parts))
    }
    if (req.op === "summarize") {
      const before = await compactions(client, req.sessionId)
      if (before === null) return request(req, timeoutMs)
      const sent = request(req, timeoutMs)
      const watch = { stopped: false }
      const stored = waitUntil(
        client,
        req.sessionId,
        timeoutMs,
        (messages) => messages.some((message) => isCompaction(message) && !before.has(message.info.id)),
        watch,
      )
      // A refusal comes back at once; a summary that runs comes back last.
      const refused = sent.then((outcome) => (outcome.type === "done" ? stored : outcome))
      const outcome = await Promise.race([refused, stored])
      watch.stopped = true
      return outcome
    }
    return request(req, timeoutMs)
  }
}

/**
 * The `experimental.text.complete` hook: a step of a session that wrote its
 * last text and calls no tool ends the turn, so what the engine holds for
 * that end goes out now, and the hook returns once it is stored.
 * @param {import("@opencode-ai/plugin").PluginInput["client"]} client
 * @param {ReturnType<typeof import("../../driver.js").createDriver>} driver
 * @param {(level: string, message: string) => Promise<void>} log
 */
export function createTurnEnd(client, driver, log) {
  return async function textComplete(input) {
    const sessionId = input?.sessionID
    const stepId = input?.messageID
    if (typeof sessionId !== "string" || typeof stepId !== "string" || !sessionId || !stepId) return
    try {
      if (driver.read((engine) => engine.pendingRelays(sessionId)) === 0) return
      if (await callsTools(client, sessionId, stepId)) return
      await driver.settle((engine, now) => engine.turnEnding(now, sessionId, stepId))
    } catch (error) {
      // The hook runs inside OpenCode's step: a throw would fail the step.
      void log("error", `opencode-sessions: ending the turn of ${sessionId} failed: ${error?.message ?? error}`)
    }
  }
}

/** How OpenCode before 1.18 wraps a user message that arrives while its loop runs. */
const WRAPPED_HEAD = ["<system-reminder>", "The user sent the following message:"]
const WRAPPED_TAIL = ["", "Please address this message and continue with your tasks.", "</system-reminder>"]

/**
 * The `experimental.chat.messages.transform` hook: OpenCode before 1.18
 * wraps a user message that arrived while its loop ran in a reminder
 * ("The user sent the following message: …"), as every relay under `run`
 * does; the model gets the relay's text as written instead. Only parts this
 * plugin sent, wrapped exactly so, are touched, and only in what the model
 * is sent (OpenCode keeps the message as stored).
 * @param {unknown} _input
 * @param {{ messages?: Array<{ info?: { role?: string }, parts?: Array<{ type?: string, text?: string, metadata?: object }> }> }} output
 */
export async function unwrapRelays(_input, output) {
  for (const message of output?.messages ?? []) {
    if (message?.info?.role !== "user" || !Array.isArray(message.parts)) continue
    for (const part of message.parts) {
      if (part?.type !== "text" || part.metadata?.[PLUGIN_MARK] !== true || typeof part.text !== "string") continue
      const lines = part.text.split("\n")
      const head = lines.slice(0, WRAPPED_HEAD.length)
      const tail = lines.slice(-WRAPPED_TAIL.length)
      const wrapped =
        lines.length > WRAPPED_HEAD.length + WRAPPED_TAIL.length &&
        head.every((line, i) => line === WRAPPED_HEAD[i]) &&
        tail.every((line, i) => line === WRAPPED_TAIL[i])
      if (wrapped) part.text = lines.slice(WRAPPED_HEAD.length, -WRAPPED_TAIL.length).join("\n")
    }
  }
}

/** Whether the step (assistant message) holds a tool call: then the turn goes on after it. */
async function callsTools(client, sessionId, stepId) {
  const result = await client.session.message({ path: { id: sessionId, messageID: stepId } }).catch(() => null)
  const parts = result?.data?.parts
  // Unreadable: the step's text is the last thing known of it.
  return Array.isArray(parts) && parts.some((part) => part?.type === "tool")
}

function holdsPrompt(messages, parts) {
  const last = messages.findLast((message) => message?.info?.role === "user")
  const texts = (last?.parts ?? []).filter((part) => part?.metadata?.[PLUGIN_MARK] === true).map((part) => part.text)
  return texts.length === parts.length && texts.every((text, i) => text === parts[i])
}

const isCompaction = (message) =>
  message?.info?.role === "user" && Array.isArray(message.parts) && message.parts.some((part) => part?.type === "compaction")

/** Ids of the session's compaction messages, or null when they cannot be read. */
async function compactions(client, sessionId) {
  const messages = await recent(client, sessionId)
  return messages && new Set(messages.filter(isCompaction).map((message) => message.info.id))
}

async function recent(client, sessionId) {
  const result = await client.session.messages({ path: { id: sessionId }, query: { limit: 10 } }).catch(() => null)
  return Array.isArray(result?.data) ? result.data : null
}

/**
 * Reads the session's newest messages until `stored` holds, within
 * `timeoutMs` or until `watch.stopped`.
 */
async function waitUntil(client, sessionId, timeoutMs, stored, watch = { stopped: false }) {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline && !watch.stopped) {
    const messages = await recent(client, sessionId)
    if (messages && stored(messages)) return { type: "done" }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS))
  }
  return { type: "failed", message: `OpenCode did not store it within ${timeoutMs} ms`, cause: "unavailable" }
}
