// What this OpenCode 2 build's plugin context offers, found out at setup and
// never assumed: the API moved between 2.0.x builds (`rename` became
// `update`, `compact` came late, `fork` is not in the plugin API at all). The
// words here name host facts the engine cannot see; the engine turns each
// `lacks` into its refusal ("this OpenCode lacks …").

const isFunction = (value) => typeof value === "function"

/** What every mode needs: the tool, the events, agents, and prompting an agent. */
const REQUIRED = [
  ["tool", "transform"],
  ["event", "subscribe"],
  ["agent", "list"],
  ["session", "hook"],
  ["session", "switchAgent"],
  ["session", "prompt"],
  ["session", "synthetic"],
]

/**
 * @typedef {{ url: string, password: string }} Server the host's own HTTP server and its password
 * @typedef {object} Capabilities
 * @property {"reduced" | "unexpected" | "ready"} shape
 *   `reduced`: the V2-style setup pass of OpenCode 1.18, whose context has no
 *   tool, session or event domain (the V1 `server` entry runs the plugin there);
 *   `unexpected`: a context this adapter cannot work with, `missing` says why
 * @property {string[]} missing the required members absent, as `ctx.session.prompt`
 * @property {{ mode: "message" | "new" | "compact" | "fork" | "cancel", lacks: string }[]} limits modes this host cannot do
 * @property {Server | null} server reachable with the host's own credentials, when the context gives them
 */

/**
 * @param {unknown} ctx the context OpenCode passed to `setup`
 * @returns {Capabilities}
 */
export function probe(ctx) {
  if (ctx === null || typeof ctx !== "object") {
    const kind = ctx === null ? "null" : typeof ctx
    return { shape: "unexpected", missing: [`members at all (it is ${kind})`], limits: [], server: null }
  }
  if (ctx.tool === undefined && ctx.session === undefined && ctx.event === undefined) {
    return { shape: "reduced", missing: [], limits: [], server: null }
  }
  const missing = REQUIRED.filter(([domain, member]) => !isFunction(ctx[domain]?.[member])).map(
    ([domain, member]) => `ctx.${domain}.${member}`,
  )
  if (missing.length > 0) return { shape: "unexpected", missing, limits: [], server: null }

  const session = ctx.session
  const server = serverOf(ctx.app?.server)
  const readsMessages = isFunction(session.context)
  const limits = []
  if (!isFunction(session.create)) {
    limits.push({ mode: "new", lacks: "a way to create a session from a plugin (ctx.session.create)" })
  } else if (!readsMessages) {
    limits.push({ mode: "new", lacks: "a way to read a branch's answer from a plugin (ctx.session.context)" })
  }
  if (!isFunction(session.compact) && !server) {
    limits.push({
      mode: "compact",
      lacks: "a way to compact a session from a plugin (ctx.session.compact, or the server address in ctx.app.server)",
    })
  } else if (!isFunction(session.get) && !readsMessages) {
    limits.push({ mode: "compact", lacks: "a way to read the model a session runs on (ctx.session.get)" })
  }
  if (!isFunction(session.fork) && !server) {
    limits.push({
      mode: "fork",
      lacks: "a way to fork a session from a plugin (ctx.session.fork, or the server address in ctx.app.server)",
    })
  } else if (!readsMessages) {
    limits.push({ mode: "fork", lacks: "a way to read a branch's answer from a plugin (ctx.session.context)" })
  }
  if (!isFunction(session.interrupt)) {
    limits.push({ mode: "cancel", lacks: "a way to stop a session's turn from a plugin (ctx.session.interrupt)" })
  }
  return { shape: "ready", missing: [], limits, server }
}

/** The server's address and password, when the context gives both. */
function serverOf(server) {
  if (typeof server?.url !== "string" || typeof server.password !== "string") return null
  try {
    new URL(server.url)
  } catch {
    return null
  }
  return { url: server.url, password: server.password }
}
