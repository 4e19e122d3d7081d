// Reads OpenCode 2's events into engine inputs. A turn (an "execution") ends
// with `session.execution.succeeded`, `.failed` or `.interrupted`; the payload
// is in `data`. Of the many event types only these are looked at; a known
// type without the session id the engine needs means the shapes moved, and
// `malformed(detail)` says which field.

/** What OpenCode 1 calls an interrupt; the engine cancels the turn's hand-offs on it. */
const ABORTED = "MessageAbortedError"

const isId = (value) => typeof value === "string" && value !== ""
const text = (value) => (typeof value === "string" ? value : null)

/**
 * @param {(feed: (engine: import("../../../index.js").RelayEngine, nowMs: number) => unknown) => unknown} input
 * @param {{ compactionEnded: (sessionId: string) => void, compactionFailed: (sessionId: string, message: string) => void }} compactions
 *   the summarize requests waiting for their compaction to finish
 * @param {(detail: string) => void} malformed
 * @returns {(event: unknown) => void}
 */
export function createEventReader(input, compactions, malformed) {
  return function readEvent(event) {
    const type = event?.type
    if (typeof type !== "string" || !HANDLED.has(type)) return
    const data = event.data
    const sessionId = data?.sessionID
    if (!isId(sessionId)) return malformed(`${type} without data.sessionID`)
    switch (type) {
      case "session.execution.started":
        return void input((engine, now) => engine.status(now, sessionId, true))
      case "session.execution.succeeded":
        return void input((engine, now) => engine.idle(now, sessionId))
      case "session.execution.failed": {
        // The failed step is recorded by now: the idle that follows ends the turn.
        const name = text(data.error?.type) ?? "error"
        const message = text(data.error?.message)
        input((engine, now) => engine.sessionError(now, sessionId, name, message))
        input((engine, now) => engine.stepFinished(now, sessionId, null, name))
        return void input((engine, now) => engine.idle(now, sessionId))
      }
      case "session.execution.interrupted":
        // `superseded`: another execution took the session over and its end is the turn's.
        if (data.reason === "superseded") return
        input((engine, now) => engine.sessionError(now, sessionId, ABORTED, text(data.reason)))
        return void input((engine, now) => engine.idle(now, sessionId))
      case "session.deleted":
        return void input((engine, now) => engine.deleted(now, sessionId))
      case "session.compaction.ended":
        input((engine, now) => engine.compacted(now, sessionId))
        return compactions.compactionEnded(sessionId)
      case "session.compaction.failed": {
        const error = data.error
        const message = [text(error?.type), text(error?.message)].filter(Boolean).join(": ") || "compaction failed"
        return compactions.compactionFailed(sessionId, message)
      }
    }
  }
}

const HANDLED = new Set([
  "session.execution.started",
  "session.execution.succeeded",
  "session.execution.failed",
  "session.execution.interrupted",
  "session.deleted",
  "session.compaction.ended",
  "session.compaction.failed",
])
