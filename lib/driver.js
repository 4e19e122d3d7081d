// Runs the native engine, whatever the host: feeds it inputs, performs the
// actions each input returns through the host adapter, feeds back their
// outcomes and keeps the engine's timer armed. It holds no relay state of its
// own beyond the tool calls awaiting their reply.
//
// The adapter (lib/hosts/) turns the host's events into engine inputs and the
// engine's requests into host calls; the driver knows nothing of either.

/** The longest delay setTimeout honours; longer ones fire at once. */
const MAX_TIMER_MS = 2 ** 31 - 1

/**
 * @typedef {import("../index.js").RelayEngine} RelayEngine
 * @typedef {import("../index.js").JsDrain} Drain
 * @typedef {import("../index.js").JsRequest} Request
 * @typedef {import("../index.js").JsOutcome} Outcome
 * @typedef {import("../index.js").JsPendingHandOff} PendingHandOff
 * @typedef {import("../index.js").JsToolCallInput} ToolCallInput
 * @typedef {{ resolve: (text: string) => void, reject: (error: unknown) => void, host: unknown, refusal?: unknown }} PendingCall
 *   a tool call waiting for its reply: `host` is what the adapter handed `toolCall`; the adapter may
 *   leave the error to reject the call with in `refusal`
 * @typedef {object} Host
 * @property {(request: Request, timeoutMs: number, call: PendingCall | undefined, nowMs: number) => Promise<Outcome>} perform
 *   performs a request and resolves to its outcome; `call` is the tool call a request names (`request.call`);
 *   `nowMs` is the time the engine was given with the input that issued it (the driver's `now`, `Date.now` unless a
 *   test gives another), so the adapter need not read the clock again
 * @property {(toast: {variant: string, title: string, message: string}) => Promise<void>} toast
 * @property {(level: string, message: string) => Promise<void>} log
 */

/**
 * @param {object} deps
 * @param {RelayEngine} deps.engine
 * @param {Host} deps.host
 * @param {{save: (handoffs: PendingHandOff[]) => void}} [deps.journal] keeps pending hand-offs on disk
 * @param {(notice: unknown) => void} [deps.onNotice] hears every notice the engine gives, before its toast and log line
 * @param {() => number} [deps.now]
 */
export function createDriver({ engine, host, journal, onNotice, now = Date.now }) {
  bindInputs(engine)
  // Notices nobody listens to are not encoded at all.
  engine.wantNotices(onNotice !== undefined)
  // Prompts and log lines come as compact lines, which readDrain reads without JSON.parse.
  engine.compactActions(true)
  /** @type {Map<number, PendingCall>} tool calls waiting for their reply, by engine call id */
  const replies = new Map()
  /** When the engine wants `timeout()` next, as its last drain said; null for never. */
  let deadline = null
  let timer
  let timerAt = Infinity
  /**
   * The requests being gathered for `settle`: set while an input it follows
   * runs, so each request that input issues joins it.
   * @type {{ open: number, done: () => void } | null}
   */
  let gathering = null
  /** The time given to the engine with the input being run. */
  let clock = 0

  /**
   * Does what an input left to do: its actions, the pending list, the timer.
   * @param {Drain | null} drain null when the input changed nothing
   */
  function apply(drain) {
    if (drain !== null) {
      for (const action of drain.actions) run(action)
      finish(drain)
    }
    arm()
  }

  /** The pending list and the time of the next `timeout()`, once the actions ran. */
  function finish({ journal: handoffs, timeoutAt }) {
    if (journal && handoffs !== null) journal.save(handoffs)
    deadline = timeoutAt
  }

  /**
   * `apply` for the text of a drain as the input methods return it (see
   * `readDrain` below): each action runs as soon as it is read, so a prompt
   * leaves before the rest is read.
   * @param {string} text
   */
  function applyText(text) {
    finish(readDrain(text, run))
    arm()
  }

  function run(action) {
    switch (action.type) {
      case "request": {
        const request = action.request
        const call = request.op === "askPermission" ? replies.get(request.call) : undefined
        const group = gathering
        if (group) group.open++
        let pending
        try {
          pending = host.perform(request, action.timeoutMs, call, clock)
        } catch (error) {
          pending = Promise.reject(error)
        }
        pending
          .catch((error) => ({ type: "failed", message: error?.message ?? String(error) }))
          .then((outcome) => {
            // What the outcome leads to belongs to the same group.
            gatherInto(group, () => input((engine, at) => engine.outcome(at, action.id, outcome)))
            if (group && --group.open === 0) group.done()
          })
        break
      }
      case "replyToTool": {
        const waiting = replies.get(action.call)
        replies.delete(action.call)
        if (!waiting) {
          void host.log("warn", `reply for a tool call nobody waits for: ${action.text}`)
        } else if (action.ok) {
          waiting.resolve(action.text)
        } else {
          waiting.reject(waiting.refusal ?? new Error(action.text))
        }
        break
      }
      case "notice":
        if (onNotice) {
          try {
            onNotice(action.notice)
          } catch (error) {
            void host.log("error", `a notice listener failed: ${error?.message ?? error}`)
          }
        }
        break
      case "toast":
        void host.toast(action)
        break
      case "log":
        void host.log(action.level, action.message)
        break
      default:
        void host.log("error", `unknown engine action ${JSON.stringify(action)}`)
    }
  }

  /**
   * Runs one input into the engine and does what it left to do. An input the
   * engine refuses is logged.
   * @param {(engine: RelayEngine, nowMs: number) => string | null} feed calls one input method of the engine
   * @returns {boolean} false when the engine refused the input
   */
  function input(feed) {
    let text = null
    let accepted = true
    try {
      // The engine returns its outputs as JSON text: cheaper to cross than objects.
      clock = now()
      text = feed(engine, clock)
    } catch (error) {
      accepted = false
      void host.log("error", error?.message ?? String(error))
    }
    if (text === null) arm()
    else applyText(text)
    return accepted
  }

  function gatherInto(group, feed) {
    const outer = gathering
    gathering = group
    try {
      feed()
    } finally {
      gathering = outer
    }
  }

  function arm() {
    if (deadline === null) {
      if (timer !== undefined) clearTimeout(timer)
      timer = undefined
      timerAt = Infinity
      return
    }
    if (timer !== undefined && deadline >= timerAt) return
    if (timer !== undefined) clearTimeout(timer)
    timerAt = deadline
    timer = setTimeout(
      () => {
        timer = undefined
        timerAt = Infinity
        // A timer that fires early (or was capped) changes nothing and re-arms.
        input((engine, at) => engine.timeout(at))
      },
      Math.min(Math.max(0, deadline - now()), MAX_TIMER_MS),
    )
    // A pending time limit must not keep the host process alive.
    timer.unref?.()
  }

  return {
    input,

    /**
     * `input`, for a host that must hold something open (a turn) until what
     * the input started is done: resolves once every request it issued, and
     * every request their outcomes led to, has its outcome. Each request
     * ends by its own time limit, so this does too.
     * @param {(engine: RelayEngine, nowMs: number) => string | null} feed
     * @returns {Promise<void>}
     */
    settle(feed) {
      return new Promise((resolve) => {
        const group = { open: 0, done: resolve }
        gatherInto(group, () => input(feed))
        if (group.open === 0) resolve()
      })
    },

    /**
     * Reads the engine without feeding it (a getter such as `pendingRelays`).
     * @template T
     * @param {(engine: RelayEngine) => T} look
     * @returns {T}
     */
    read(look) {
      return look(engine)
    },

    /**
     * Runs a `session` tool call through the engine.
     * @param {ToolCallInput} call
     * @param {unknown} [hostCall] what the adapter needs to perform the call's own requests (its permission check)
     * @returns {Promise<string>} the text for the model; rejects with the error text.
     */
    toolCall(call, hostCall) {
      /** @type {import("../index.js").JsToolCallStarted} */
      clock = now()
      const started = JSON.parse(engine.toolCall(clock, call))
      const reply = new Promise((resolve, reject) => replies.set(started.call, { resolve, reject, host: hostCall }))
      apply(started.drain)
      return reply
    },

    /**
     * Hand-offs a stopped host process left pending: the sessions are told.
     * @param {PendingHandOff[]} handoffs
     * @returns {boolean} false when the engine refused the list (the reason is logged)
     */
    restored(handoffs) {
      return input((engine, at) => engine.restored(at, handoffs))
    },

    /** Stops the timer, e.g. when the plugin is disposed. */
    dispose() {
      if (timer !== undefined) clearTimeout(timer)
      timer = undefined
    },
  }
}

/**
 * Makes the engine's input methods (`status`, `idle`, `outcome`, ...) its
 * own functions, bound to it (`RelayEngine#inputs`): called so, an input
 * skips napi-rs's lookup of the receiver, most of the cost of an event that
 * changes nothing.
 * @param {RelayEngine} engine
 * @returns {RelayEngine} the same engine
 */
export function bindInputs(engine) {
  return Object.assign(engine, engine.inputs())
}

// ---- reading drains ----
// The text of a drain as the input methods return it (see `DrainWriter` in
// src/json.rs), one action per line:
//
//   {"actions":[
//   …first action…
//   ,…next action…
//   ],"timeoutAt":…,"journal":…}
//
// An action line is JSON, or, once the engine was told `compactActions(true)`,
// a prompt request or a log line as a compact line led by `P` or `L`
// (`write_prompt` and `write_log` in src/json.rs), read with a few slices
// instead of JSON.parse. The whole text is ASCII. (Here rather
// than in a module of its own: under Bun every module costs start-up time.)

const COMMA = 44
const COLON = 58
const SEMICOLON = 59
const CLOSE = 93 // `]`, which starts the last line
const PROMPT = 80 // `P`
const LOG = 76 // `L`

/**
 * @param {string} text the drain's text
 * @param {(action: import("../index.js").JsAction) => void} run called with each action in order
 * @returns {{ timeoutAt: number | null, journal: import("../index.js").JsPendingHandOff[] | null }} the rest of the drain
 */
export function readDrain(text, run) {
  let at = text.indexOf("\n") + 1
  for (;;) {
    let code = text.charCodeAt(at)
    if (code === CLOSE) return JSON.parse(`{${text.slice(at + 2)}`)
    if (code === COMMA) code = text.charCodeAt(++at)
    if (code === PROMPT || code === LOG) {
      const action = code === PROMPT ? readPrompt(text, at + 1) : readLog(text, at + 1)
      // Read before `run`, which may feed the engine and read another drain.
      at = cursor + 1
      run(action)
    } else {
      const end = text.indexOf("\n", at)
      if (end === -1) throw new Error(`malformed engine output: ${text.slice(at, at + 80)}`)
      run(JSON.parse(text.slice(at, end)))
      at = end + 1
    }
  }
}

/**
 * The whole drain as one object, as JSON.parse makes it of a drain without compact lines.
 * @param {string} text
 * @returns {import("../index.js").JsDrain}
 */
export function parseDrain(text) {
  const actions = []
  const { timeoutAt, journal } = readDrain(text, (action) => actions.push(action))
  return { actions, timeoutAt, journal }
}

/** Where the compact line being read has got to. */
let cursor = 0

/**
 * `P<id>,<timeoutMs>,<n>:<sessionId><n>:<agent><count>,<n>:<part>…` from `at`,
 * past the `P` (a string beyond ASCII as `<n>;<JSON literal>`).
 */
function readPrompt(text, at) {
  cursor = at
  const id = readNumber(text)
  const timeoutMs = readNumber(text)
  const sessionId = readText(text)
  const agent = readText(text)
  const parts = new Array(readNumber(text))
  for (let i = 0; i < parts.length; i++) parts[i] = readText(text)
  return { type: "request", id, timeoutMs, request: { op: "prompt", sessionId, agent, parts } }
}

/** `L<n>:<level><n>:<message>` from `at`, past the `L` (strings as in `readPrompt`). */
function readLog(text, at) {
  cursor = at
  const level = readCounted(text)
  const message = readCounted(text)
  return { type: "log", level, message: literal ? JSON.parse(message) : message }
}

/**
 * A string of a prompt's line, decoded. Each kind of line decodes its own
 * literals: every relay's log line has one (its `→`), and a prompt's
 * strings, which rarely do, are read by code that never saw `JSON.parse`
 * run (`node bench/dispatch-ab.mjs`: row 3 5% faster than one shared reader).
 */
function readText(text) {
  const value = readCounted(text)
  return literal ? JSON.parse(value) : value
}

/** Decimal digits up to a comma or colon, which is skipped. */
function readNumber(text) {
  const number = readDigits(text)
  const code = text.charCodeAt(cursor++)
  if (code !== COMMA && code !== COLON) throw malformed(text, cursor - 1)
  return number
}

/**
 * `<length>:<text>`, or `<length>;<JSON string literal>` for text beyond
 * ASCII (`write_counted` in src/json.rs), as written: `literal` says which.
 */
function readCounted(text) {
  const length = readDigits(text)
  const code = text.charCodeAt(cursor++)
  if (code !== COLON && code !== SEMICOLON) throw malformed(text, cursor - 1)
  const value = text.slice(cursor, cursor + length)
  cursor += length
  literal = code === SEMICOLON
  return value
}

/** Whether the string `readCounted` read last is a JSON literal. */
let literal = false

/** At least one decimal digit, from the cursor. */
function readDigits(text) {
  const start = cursor
  let number = 0
  for (let code = text.charCodeAt(cursor); code >= 48 && code <= 57; code = text.charCodeAt(++cursor)) number = number * 10 + code - 48
  if (cursor === start) throw malformed(text, cursor)
  return number
}

function malformed(text, at) {
  return new Error(`malformed engine output: ${text.slice(at, at + 80)}`)
}
