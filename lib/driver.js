// Runs the native engine: feeds it inputs, performs the actions it asks for,
// feeds back their outcomes and keeps its timer armed. It holds no relay
// state of its own beyond the tool calls awaiting their reply.

import { askPermission } from "./requests.js"

/** The longest delay setTimeout honours; longer ones fire at once. */
const MAX_TIMER_MS = 2 ** 31 - 1

/**
 * @param {object} deps
 * @param {import("../index.js").RelayEngine} deps.engine
 * @param {(request: import("./engine-types.js").Request, timeoutMs: number) => Promise<import("./engine-types.js").Outcome>} deps.perform
 * @param {(toast: {variant: string, title: string, message: string}) => Promise<void>} deps.toast
 * @param {(level: string, message: string) => Promise<void>} deps.log
 * @param {{save: (handoffs: import("./engine-types.js").PendingHandOff[]) => void}} [deps.journal] keeps pending hand-offs on disk
 * @param {() => number} [deps.now]
 */
export function createDriver({ engine, perform, toast, log, journal, now = Date.now }) {
  /** Tool calls waiting for their reply, by engine call id. */
  const replies = new Map()
  let timer
  let timerAt = Infinity

  /**
   * Permission requests go through the calling tool's own `ctx.ask`. The
   * error it throws on a refusal is kept: the tool fails with it, so OpenCode
   * stops the turn when a person rejected, as it does for its own tools.
   */
  async function dispatch(request, timeoutMs) {
    if (request.op !== "askPermission") return perform(request, timeoutMs)
    const waiting = replies.get(request.call)
    if (!waiting?.ask) return { type: "failed", message: "the tool call that asked is gone.", cause: "refused" }
    const { outcome, error } = await askPermission(waiting.ask, request.pattern)
    if (error) waiting.refusal = error
    return outcome
  }

  function pump() {
    let actions = []
    try {
      actions = engine.pollActions()
    } catch (error) {
      void log("error", `could not read the engine's actions: ${error?.message ?? error}`)
    }
    for (const action of actions) run(action)
    if (journal) {
      try {
        const pending = engine.pollJournal()
        if (pending) journal.save(pending)
      } catch (error) {
        void log("error", `could not read the pending hand-offs: ${error?.message ?? error}`)
      }
    }
    arm()
  }

  function run(action) {
    switch (action.type) {
      case "request":
        dispatch(action.request, action.timeoutMs)
          .catch((error) => ({ type: "failed", message: error?.message ?? String(error) }))
          .then((outcome) => feed(() => engine.handleOutcome(now(), action.id, outcome)))
        break
      case "replyToTool": {
        const waiting = replies.get(action.call)
        replies.delete(action.call)
        if (!waiting) {
          void log("warn", `reply for a tool call nobody waits for: ${action.text}`)
        } else if (action.ok) {
          waiting.resolve(action.text)
        } else {
          waiting.reject(waiting.refusal ?? new Error(action.text))
        }
        break
      }
      case "toast":
        void toast(action)
        break
      case "log":
        void log(action.level, action.message)
        break
      default:
        void log("error", `unknown engine action ${JSON.stringify(action)}`)
    }
  }

  /** Runs one input into the engine, then drains what it wants done. */
  function feed(input) {
    try {
      input()
    } catch (error) {
      void log("error", error?.message ?? String(error))
    }
    pump()
  }

  function arm() {
    const at = engine.pollTimeout()
    if (at === null) {
      if (timer !== undefined) clearTimeout(timer)
      timer = undefined
      timerAt = Infinity
      return
    }
    if (timer !== undefined && at >= timerAt) return
    if (timer !== undefined) clearTimeout(timer)
    timerAt = at
    timer = setTimeout(
      () => {
        timer = undefined
        timerAt = Infinity
        // A timer that fires early (or was capped) changes nothing and re-arms.
        feed(() => engine.handleTimeout(now()))
      },
      Math.min(Math.max(0, at - now()), MAX_TIMER_MS),
    )
    // A pending time limit must not keep the host process alive.
    timer.unref?.()
  }

  return {
    /**
     * Runs a `session` tool call through the engine.
     * @param {import("./engine-types.js").ToolCallInput} input
     * @param {(input: object) => Promise<void>} [ask] the tool context's permission check
     * @returns {Promise<string>} the text for the model; rejects with the error text.
     */
    toolCall(input, ask) {
      const id = engine.handleToolCall(now(), input)
      const reply = new Promise((resolve, reject) => replies.set(id, { resolve, reject, ask }))
      pump()
      return reply
    },

    /** A user message was added to a session (the `chat.message` hook). */
    userMessage(sessionId, fromPlugin) {
      feed(() => engine.handleUserMessage(sessionId, fromPlugin))
    },

    /** Hands a bus event to the engine. */
    event(event) {
      feed(() => engine.handleEvent(now(), event))
    },

    /**
     * Hand-offs a stopped OpenCode process left pending: the sessions are told.
     * @returns {boolean} false when the engine refused the list (the reason is logged)
     */
    restored(handoffs) {
      let accepted = false
      feed(() => {
        engine.handleRestored(now(), handoffs)
        accepted = true
      })
      return accepted
    },

    /** Stops the timer, e.g. when the plugin is disposed. */
    dispose() {
      if (timer !== undefined) clearTimeout(timer)
      timer = undefined
    },
  }
}
