// Everything sent through OpenCode's SDK client: the engine's requests, and
// the plugin's toasts and log lines, under the time limits they share. (One
// module rather than three: under Bun every module costs start-up time.)
// Requests resolve to an Outcome and never reject: failures become
// `{ type: "failed", message, cause }` for the engine to retry or report.

import { PLUGIN_MARK } from "./marker.js"

// ---- which client, and where its requests go ----

/** The host clients a copy of this plugin already serves, shared by every copy of the module loaded in the process. */
const SERVED = Symbol.for("opencode-sessions.servedClients")
/** How long the check that OpenCode's HTTP server answers may take. */
const SERVER_CHECK_MS = 1_000

/**
 * The SDK client this plugin instance sends through, or null when another
 * instance of the plugin already serves the same OpenCode instance (the
 * package listed twice, say). OpenCode hands one client to every plugin of
 * an instance, so the client tells instances apart: two instances of one
 * directory in one process (an instance disposed and made again, or a second
 * one for the same directory) each have their own client and event bus, and
 * each must serve its own.
 *
 * When the client runs its requests inside the process while the server
 * listens elsewhere, they are sent to the listening server instead, as
 * OpenCode itself does from 1.18 on: under `serve`, OpenCode 1.15 answers
 * in-process requests from a second instance of the project, which loads
 * every plugin again and whose events the first never hears. The client
 * goes where the server listens when its base URL is not the server's
 * (under `opencode run` both name the same unused default; a server that
 * reports port 0, as 1.2 and 1.3 do, listens nowhere), and only once the
 * server answered a health check, asked by the first request; requests made
 * before the answer wait for it. Nothing is asked while the plugin loads.
 * The client is shared by every plugin of the instance: theirs go the same
 * way, as OpenCode 1.18 sends them.
 * @param {import("@opencode-ai/plugin").PluginInput} input
 */
export function claimClient(input) {
  const client = input?.client
  if (client === null || typeof client !== "object") return client
  globalThis[SERVED] ??= new WeakSet()
  if (globalThis[SERVED].has(client)) return null
  globalThis[SERVED].add(client)
  routeToServer(client._client, input.serverUrl)
  return client
}

/** Lets another instance serve the client, when this one failed to start. */
export function releaseClient(client) {
  globalThis[SERVED]?.delete(client)
}

function routeToServer(sdk, serverUrl) {
  if (typeof sdk?.getConfig !== "function" || typeof sdk.setConfig !== "function") return
  const { baseUrl, fetch: hostFetch, headers } = sdk.getConfig()
  const server = parseUrl(serverUrl)
  const base = parseUrl(baseUrl)
  if (!server || !base || server.port === "0" || server.origin === base.origin || typeof hostFetch !== "function") return
  const viaHttp = (request) => globalThis.fetch(request, { timeout: false }) // Bun's own fetch time limit off: the signal rules
  let checked = null
  const check = async () => {
    let answered = false
    try {
      const response = await globalThis.fetch(new URL("/global/health", server), { headers, signal: AbortSignal.timeout(SERVER_CHECK_MS) })
      answered = response.ok && (await response.json())?.healthy === true
    } catch {
      // not reachable: requests stay in-process
    }
    sdk.setConfig(answered ? { baseUrl: server.origin, fetch: viaHttp } : { fetch: hostFetch })
    return answered
  }
  sdk.setConfig({
    // Only the requests made before the check ended come through here.
    async fetch(request, ...rest) {
      checked ??= check()
      if (!(await checked)) return hostFetch(request, ...rest)
      const url = new URL(request.url)
      return viaHttp(new Request(new URL(url.pathname + url.search, server), request))
    },
  })
}

function parseUrl(value) {
  try {
    return value ? new URL(String(value)) : null
  } catch {
    return null
  }
}

/**
 * The engine gives up on a request at its time limit; the HTTP call is
 * aborted a little later, so the engine's own "no answer" always comes first
 * and a slow call is never mistaken for a definite failure.
 */
const ABORT_GRACE_MS = 1_000

/**
 * @param {import("@opencode-ai/plugin").PluginInput["client"]} client
 * @returns {(request: import("../../../index.js").JsRequest, timeoutMs: number, nowMs?: number) => Promise<import("../../../index.js").JsOutcome>}
 *   `nowMs`, when given, is the time the limit counts from
 */
export function createRequester(client) {
  const operations = {
    async listAgents(_, signal) {
      const data = await call(client.app.agents({ signal }))
      return {
        type: "agents",
        agents: data.map((agent) => ({ name: agent.name, mode: agent.mode ?? "", hidden: agent.hidden === true })),
      }
    },
    async createSession({ title }, signal) {
      const data = await call(client.session.create({ body: { title }, signal }))
      return { type: "session", id: data.id, title: data.title ?? title }
    },
    async forkSession({ sessionId, messageId }, signal) {
      const data = await call(client.session.fork({ path: { id: sessionId }, body: { messageID: messageId }, signal }))
      return { type: "session", id: data.id, title: data.title ?? "" }
    },
    // Not async: the hot path of every hand-off, one promise fewer.
    prompt({ sessionId, agent, parts }, signal) {
      const body = { agent, parts: parts.map((text) => ({ type: "text", text, metadata: MARKED })) }
      return call(client.session.promptAsync({ path: { id: sessionId }, body, signal })).then(done)
    },
    async lastUserModel({ sessionId }, signal) {
      // The newest messages usually hold a user message; long agent turns
      // (one assistant message per step) may need the whole history.
      const recent = await call(client.session.messages({ path: { id: sessionId }, query: { limit: RECENT_MESSAGES }, signal }))
      let model = lastUserModel(recent)
      if (!model && recent.length >= RECENT_MESSAGES) {
        model = lastUserModel(await call(client.session.messages({ path: { id: sessionId }, signal })))
      }
      if (!model) return { type: "failed", message: `session ${sessionId} has no user message naming a model to summarize with` }
      return { type: "model", providerId: model.providerID, modelId: model.modelID }
    },
    async summarize({ sessionId, providerId, modelId }, signal) {
      const body = { providerID: providerId, modelID: modelId }
      await call(client.session.summarize({ path: { id: sessionId }, body, signal }))
      return DONE
    },
    async lastAnswer({ sessionId }, signal) {
      const recent = await call(client.session.messages({ path: { id: sessionId }, query: { limit: RECENT_ANSWERS }, signal }))
      const last = recent.findLast((message) => message?.info?.role === "assistant")
      if (!last) return { type: "answer", text: "", error: null }
      const text = last.parts
        .filter((part) => part?.type === "text" && !part.synthetic)
        .map((part) => part.text)
        .join("\n")
        .trim()
      return { type: "answer", text, error: describeMessageError(last.info.error) }
    },
    async note({ sessionId, agent, text }, signal) {
      const body = { agent, noReply: true, parts: [{ type: "text", text, metadata: MARKED }] }
      await call(client.session.promptAsync({ path: { id: sessionId }, body, signal }))
      return DONE
    },
    async abortSession({ sessionId }, signal) {
      await call(client.session.abort({ path: { id: sessionId }, signal }))
      return DONE
    },
    async renameSession({ sessionId, title }, signal) {
      await call(client.session.update({ path: { id: sessionId }, body: { title }, signal }))
      return DONE
    },
    async selectSession({ sessionId }, signal) {
      const body = { type: "tui.session.select", properties: { sessionID: sessionId } }
      await call(client.tui.publish({ body, signal }))
      return DONE
    },
  }

  const deadline = createDeadlines()
  // Not async itself: the operation's host call goes out before any promise
  // of this frame is made (a prompt is the hot path of every hand-off).
  return function perform(request, timeoutMs, nowMs) {
    const operation = operations[request.op]
    if (!operation) return Promise.resolve({ type: "failed", message: `unknown request "${request.op}"` })
    try {
      return operation(request, deadline(timeoutMs + ABORT_GRACE_MS, nowMs)).catch(failure)
    } catch (error) {
      return Promise.resolve(failure(error))
    }
  }
}

/**
 * The metadata of every text part the plugin sends: the mark lets the
 * `chat.message` hook tell these messages from a person's. One object for
 * all, since the client only serializes it.
 */
const MARKED = Object.freeze({ [PLUGIN_MARK]: true })
/** The outcome of a request that returns nothing the engine needs; the engine only reads it. */
const DONE = Object.freeze({ type: "done" })
const done = () => DONE

const RECENT_MESSAGES = 50
/** A turn's last assistant message is among the newest few. */
const RECENT_ANSWERS = 10

/** `MessageAbortedError: Aborted` from an assistant message's `error`, or null. */
function describeMessageError(error) {
  if (!error) return null
  const message = error.data?.message
  return typeof message === "string" && message ? `${error.name}: ${message}` : String(error.name ?? "error")
}

function lastUserModel(messages) {
  return messages.findLast((message) => message?.info?.role === "user" && message.info.model)?.info.model
}

/** An HTTP error from OpenCode, with the status that decides whether a retry may help. */
class HttpError extends Error {
  constructor(status, detail) {
    super(`HTTP ${status}: ${detail}`)
    this.status = status
  }
}

/** Unwraps an SDK result `{ data, error, response }`, throwing on an HTTP error. */
async function call(pending) {
  const result = await pending
  if (result?.error !== undefined || (result?.response && !result.response.ok)) {
    throw new HttpError(result.response?.status ?? 0, summarize(result.error))
  }
  return result?.data
}

function summarize(error) {
  if (error == null) return "no details"
  if (typeof error === "string") return error.slice(0, 300)
  const message = error.data?.message ?? error.message ?? error.name
  return (typeof message === "string" ? message : JSON.stringify(error)).slice(0, 300)
}

/** Passing server errors: trying again may help. */
const UNAVAILABLE = new Set([408, 429, 500, 502, 503, 504])
/** Connection errors raised before the request was sent: it cannot have taken effect. */
const UNREACHABLE = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "UND_ERR_CONNECT_TIMEOUT", "ConnectionRefused"])
/** Connection errors that may come after the request was sent. */
const CUT_OFF = new Set(["ECONNRESET", "EPIPE", "UND_ERR_SOCKET", "ECONNABORTED"])

/** @returns {import("../../../index.js").JsOutcome} */
export function failure(error) {
  if (error instanceof HttpError) {
    return { type: "failed", message: error.message, cause: UNAVAILABLE.has(error.status) ? "unavailable" : "refused" }
  }
  if (error?.name === "TimeoutError" || error?.name === "AbortError") {
    return { type: "failed", message: "timed out", cause: "unavailable" }
  }
  const code = error?.code ?? error?.cause?.code
  const message = error?.message ?? String(error)
  const described = code ? `${message} (${code})` : message
  if (UNREACHABLE.has(code) || (!CUT_OFF.has(code) && error instanceof TypeError && /unable to connect/i.test(message))) {
    return { type: "failed", message: described, cause: "unreachable" }
  }
  if (CUT_OFF.has(code) || (error instanceof TypeError && /fetch failed/i.test(message))) {
    return { type: "failed", message: described, cause: "unavailable" }
  }
  return { type: "failed", message, cause: "refused" }
}

// ---- toasts and log lines ----
// Neither may ever throw into the engine's loop; when OpenCode cannot take
// them, stderr is the last resort.

const SERVICE = "opencode-sessions"
/** A toast or log line that takes longer than this is given up. */
const HOST_TIMEOUT_MS = 5_000

/** @param {import("@opencode-ai/plugin").PluginInput["client"]} client */
export function createLogger(client) {
  const deadline = createDeadlines()
  return {
    async log(level, message) {
      try {
        const result = await client.app.log({ body: { service: SERVICE, level, message }, signal: deadline(HOST_TIMEOUT_MS) })
        if (result?.error !== undefined) throw new Error(JSON.stringify(result.error))
      } catch (error) {
        console.error(`[${SERVICE}] ${level}: ${message} (could not write to OpenCode's log: ${error?.message ?? error})`)
      }
    },
    async toast({ variant, title, message }) {
      try {
        const result = await client.tui.showToast({ body: { title, message, variant }, signal: deadline(HOST_TIMEOUT_MS) })
        if (result?.error !== undefined) throw new Error(JSON.stringify(result.error))
      } catch (error) {
        console.error(`[${SERVICE}] ${title}: ${message} (could not show a toast: ${error?.message ?? error})`)
      }
    },
  }
}

// ---- time limits ----
// Time limits for calls through the SDK client, as the AbortSignals it takes.
//
// Making an AbortSignal costs Node about 4.5 µs (AbortSignal.timeout twice
// that), more than the rest of a relay's dispatch together; so calls whose
// limits fall in the same SLOT_MS window share one, which aborts at the
// window's end: never before a call's own limit, at most SLOT_MS after it.
// Aborting a call that has settled does nothing, so a signal simply lives
// until its moment and is dropped then.

const SLOT_MS = 250

/** @returns {(limitMs: number, fromMs?: number) => AbortSignal} the signal for a call that may take `limitMs` from `fromMs` (now, unless given) */
export function createDeadlines(now = Date.now) {
  /** @type {Map<number, AbortSignal>} by window */
  const slots = new Map()
  return function deadline(limitMs, fromMs = now()) {
    const slot = Math.ceil((fromMs + limitMs) / SLOT_MS)
    let signal = slots.get(slot)
    if (signal === undefined) {
      const controller = new AbortController()
      signal = controller.signal
      slots.set(slot, signal)
      const timer = setTimeout(
        () => {
          slots.delete(slot)
          controller.abort(new DOMException("The operation timed out.", "TimeoutError"))
        },
        slot * SLOT_MS - now(),
      )
      // A pending time limit must not keep the host process alive.
      timer.unref?.()
    }
    return signal
  }
}
