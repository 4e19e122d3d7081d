// Performs the engine's requests with OpenCode's SDK client. Every function
// here resolves to an Outcome and never rejects: failures become
// `{ type: "failed", message }` for the engine to report.

/**
 * @param {import("@opencode-ai/plugin").PluginInput["client"]} client
 * @returns {(request: import("./engine-types.js").Request, timeoutMs: number) => Promise<import("./engine-types.js").Outcome>}
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
    async prompt({ sessionId, agent, parts }, signal) {
      const body = { agent, parts: parts.map((text) => ({ type: "text", text })) }
      await call(client.session.promptAsync({ path: { id: sessionId }, body, signal }))
      return { type: "done" }
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
      return { type: "done" }
    },
  }

  return async function perform(request, timeoutMs) {
    const operation = operations[request.op]
    if (!operation) return { type: "failed", message: `unknown request "${request.op}"` }
    try {
      return await operation(request, AbortSignal.timeout(timeoutMs))
    } catch (error) {
      return { type: "failed", message: describeError(error) }
    }
  }
}

const RECENT_MESSAGES = 50

function lastUserModel(messages) {
  return messages.findLast((message) => message?.info?.role === "user" && message.info.model)?.info.model
}

/** Unwraps an SDK result `{ data, error, response }`, throwing on an HTTP error. */
async function call(pending) {
  const result = await pending
  if (result?.error !== undefined || (result?.response && !result.response.ok)) {
    const status = result.response ? `HTTP ${result.response.status}` : "request failed"
    throw new Error(`${status}: ${summarize(result.error)}`)
  }
  return result?.data
}

function summarize(error) {
  if (error == null) return "no details"
  if (typeof error === "string") return error.slice(0, 300)
  const message = error.data?.message ?? error.message ?? error.name
  return (typeof message === "string" ? message : JSON.stringify(error)).slice(0, 300)
}

function describeError(error) {
  if (error?.name === "TimeoutError" || error?.name === "AbortError") return "timed out"
  return error?.message ?? String(error)
}
