// The engine's requests, performed through OpenCode 2's plugin context (and,
// for what the plugin API lacks, through the host's own HTTP server when the
// context gives its address and password). Requests resolve to an Outcome and
// never reject: failures become `{ type: "failed", message, cause }`.
//
// The context's calls take no AbortSignal; the engine keeps its own time
// limits and ignores an answer that comes after it gave up.

import { PLUGIN_MARK } from "../opencode-v1/marker.js"

/** Results are the payload itself in some 2.0 builds, `{ data }` in others. */
export function payload(result) {
  return result !== null && typeof result === "object" && !Array.isArray(result) && "data" in result ? result.data : result
}

/**
 * @param {object} ctx OpenCode 2's plugin context
 * @param {import("./capabilities.js").Server | null} server the host's HTTP server, when reachable
 */
export function createRequester(ctx, server) {
  const session = ctx.session
  const http = server ? createHttp(server) : null
  /** Summarize requests waiting for their compaction to end, by session. */
  const compactions = new Map()

  const operations = {
    async listAgents() {
      const agents = payload(await ctx.agent.list({}))
      if (!Array.isArray(agents)) return { type: "failed", message: "ctx.agent.list returned no list of agents" }
      return {
        type: "agents",
        agents: agents.map((agent) => ({
          name: String(agent?.id ?? agent?.name ?? ""),
          mode: typeof agent?.mode === "string" ? agent.mode : "",
          hidden: agent?.hidden === true,
        })),
      }
    },
    async createSession({ title }) {
      const info = payload(await session.create({ title }))
      if (typeof info?.id !== "string") return { type: "failed", message: "ctx.session.create returned no session id" }
      // Builds whose create takes no title: give it one.
      if (info.title !== title && (await rename(info.id, title))) return { type: "session", id: info.id, title }
      return { type: "session", id: info.id, title: typeof info.title === "string" ? info.title : title }
    },
    async forkSession({ sessionId, messageId }) {
      const info = session.fork
        ? payload(await session.fork({ sessionID: sessionId, before: messageId }))
        : await http("POST", `/api/session/${encodeURIComponent(sessionId)}/fork`, { before: messageId })
      if (typeof info?.id !== "string") return { type: "failed", message: "the fork returned no session id" }
      return { type: "session", id: info.id, title: typeof info.title === "string" ? info.title : "" }
    },
    async prompt({ sessionId, agent, parts }) {
      // V2's prompt names no agent: the session's agent is switched first, and stays switched.
      await session.switchAgent({ sessionID: sessionId, agent })
      // The mark lets the prompt hook tell these messages from a person's. The
      // text goes both flat (2.0's payload) and as `prompt` (the payload of
      // earlier builds, as OpenCode 1.18's embedded core takes it): each
      // build's schema reads its own key and drops the other.
      const text = parts.join("\n\n")
      await session.prompt({
        sessionID: sessionId,
        text,
        prompt: { text },
        metadata: { [PLUGIN_MARK]: true },
        delivery: "queue",
      })
      return { type: "done" }
    },
    async lastUserModel({ sessionId }) {
      const model = (await sessionModel(sessionId)) ?? (await contextModel(sessionId))
      if (!model) return { type: "failed", message: `session ${sessionId} names no model to summarize with` }
      return { type: "model", providerId: model.providerID, modelId: model.id }
    },
    async summarize({ sessionId }, timeoutMs) {
      // OpenCode 2 compacts with the session's own model, and its compact only
      // admits the request: the compaction ends later, in an event.
      const ended = waitForCompaction(sessionId, timeoutMs)
      try {
        if (session.compact) await session.compact({ sessionID: sessionId })
        else await http("POST", `/api/session/${encodeURIComponent(sessionId)}/compact`, {})
      } catch (error) {
        compactions.delete(sessionId)
        throw error
      }
      return ended
    },
    async lastAnswer({ sessionId }) {
      const messages = await context(sessionId)
      const last = messages.findLast((message) => message?.type === "assistant")
      if (!last) return { type: "answer", text: "", error: null }
      const text = (Array.isArray(last.content) ? last.content : [])
        .filter((part) => part?.type === "text" && typeof part.text === "string")
        .map((part) => part.text)
        .join("\n")
        .trim()
      return { type: "answer", text, error: describeError(last.error) }
    },
    async note({ sessionId, text }) {
      // A synthetic message that starts no turn; the session keeps its agent.
      await session.synthetic({ sessionID: sessionId, text, metadata: { [PLUGIN_MARK]: true }, resume: false })
      return { type: "done" }
    },
    async abortSession({ sessionId }) {
      // Probed at setup: without it `cancel` is not offered.
      await session.interrupt({ sessionID: sessionId })
      return { type: "done" }
    },
    async renameSession({ sessionId, title }) {
      if (await rename(sessionId, title)) return { type: "done" }
      return { type: "failed", message: "this OpenCode has no way to rename a session from a plugin" }
    },
    async selectSession() {
      return { type: "failed", message: "OpenCode 2 gives server plugins no way to show a session in the TUI" }
    },
  }

  async function rename(sessionId, title) {
    if (session.update) await session.update({ sessionID: sessionId, title })
    else if (session.rename) await session.rename({ sessionID: sessionId, title })
    else if (http) await http("PATCH", `/api/session/${encodeURIComponent(sessionId)}`, { title })
    else return false
    return true
  }

  async function sessionModel(sessionId) {
    if (!session.get) return null
    const model = payload(await session.get({ sessionID: sessionId }))?.model
    return isModel(model) ? model : null
  }

  async function contextModel(sessionId) {
    if (!session.context) return null
    return (await context(sessionId)).findLast((message) => isModel(message?.model))?.model ?? null
  }

  async function context(sessionId) {
    const messages = payload(await session.context({ sessionID: sessionId }))
    return Array.isArray(messages) ? messages : []
  }

  function waitForCompaction(sessionId, timeoutMs) {
    return new Promise((resolve) => {
      const timer = setTimeout(() => settle({ type: "failed", message: "timed out", cause: "unavailable" }), timeoutMs)
      timer.unref?.()
      function settle(outcome) {
        clearTimeout(timer)
        if (compactions.get(sessionId) === settle) compactions.delete(sessionId)
        resolve(outcome)
      }
      compactions.set(sessionId, settle)
    })
  }

  return {
    /** @returns {Promise<import("../../../index.js").JsOutcome>} */
    async perform(request, timeoutMs) {
      const operation = operations[request.op]
      if (!operation) return { type: "failed", message: `unknown request "${request.op}"` }
      try {
        return await operation(request, timeoutMs)
      } catch (error) {
        return failure(error)
      }
    },
    compactions: {
      compactionEnded(sessionId) {
        compactions.get(sessionId)?.({ type: "done" })
      },
      compactionFailed(sessionId, message) {
        compactions.get(sessionId)?.({ type: "failed", message, cause: "refused" })
      },
    },
  }
}

const isModel = (model) => typeof model?.id === "string" && typeof model.providerID === "string"

/** `ProviderError: overloaded` from a message's error, or null. */
function describeError(error) {
  if (!error) return null
  const name = error.type ?? error.name ?? error._tag
  const message = error.message ?? error.data?.message
  return [name, message].filter((part) => typeof part === "string" && part).join(": ") || "error"
}

/** An HTTP error from OpenCode's server, with the status that decides whether a retry may help. */
class HttpError extends Error {
  constructor(status, detail) {
    super(`HTTP ${status}: ${detail}`)
    this.status = status
  }
}

/** Calls the host's own HTTP API with its password (HTTP basic, as OpenCode's server takes it). */
function createHttp({ url, password }) {
  const authorization = `Basic ${Buffer.from(`opencode:${password}`).toString("base64")}`
  return async function http(method, route, body) {
    const response = await fetch(new URL(route, url), {
      method,
      headers: { authorization, "content-type": "application/json" },
      body: JSON.stringify(body),
    })
    const text = await response.text()
    if (!response.ok) throw new HttpError(response.status, text.slice(0, 300) || response.statusText)
    return text ? payload(JSON.parse(text)) : undefined
  }
}

const UNAVAILABLE_STATUS = new Set([408, 429, 500, 502, 503, 504])
/** Errors OpenCode 2's API fails with when trying again later may help. */
const UNAVAILABLE_TAGS = new Set(["ServiceUnavailableError", "SessionBusyError"])

/** @returns {import("../../../index.js").JsOutcome} */
export function failure(error) {
  if (error instanceof HttpError) {
    return { type: "failed", message: error.message, cause: UNAVAILABLE_STATUS.has(error.status) ? "unavailable" : "refused" }
  }
  const tag = typeof error?._tag === "string" ? error._tag : null
  const message = error?.message || tag || String(error)
  const named = tag && !message.includes(tag) ? `${tag}: ${message}` : message
  if (error?.code === "ECONNREFUSED" || error?.cause?.code === "ECONNREFUSED") {
    return { type: "failed", message: named, cause: "unreachable" }
  }
  return { type: "failed", message: named, cause: UNAVAILABLE_TAGS.has(tag) ? "unavailable" : "refused" }
}
