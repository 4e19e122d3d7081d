// A model of OpenCode 2's server plugin API, built from its published
// sources (repository anomalyco/opencode; no OpenCode 2 binary can be had
// here). Each part names the file and the commit it follows:
//
// - module decoding, `decodeDefinition`: packages/core/src/plugin/module.ts @07db2b92
//   (Struct({default: Union([{id, effect: function}, {id, setup: function}])}), Effect 4's Struct
//   parser: a non-record fails, only declared keys are copied out)
// - the Promise plugin context, `context()`: packages/plugin/src/promise/adapter.ts @07bc181c
//   ("latest": session.compact, session.update, session.context; no session.fork),
//   packages/plugin/src/promise/session.ts @03545fd3 ("rename": session.rename, no compact or update),
//   packages/core/src/plugin/promise.ts @0a80062d ("early": no switchAgent, rename or context)
// - App and its optional server: packages/plugin/src/app.ts @7527ad80
// - endpoint payloads (what each call takes and returns): packages/protocol/src/groups/session.ts @01fd0c85
//   (create {title, agent}; switchAgent {agent}; prompt {text, metadata, delivery, resume};
//   synthetic {text, metadata, resume}; compact {id?, delivery?}; update {title}; fork {before};
//   context: messages since the last compaction), packages/protocol/src/groups/agent.ts @1652328e
//   (agent.list answers Location.response: {location, data})
// - agents: packages/schema/src/agent.ts @3ece701d ({id, mode, hidden, ...});
//   sessions: packages/schema/src/session.ts @06f9d1a6 ({id, parentID?, agent?, model?, title, ...})
// - tools: packages/schema/src/tool.ts @0f131b3e (Info {name, input, description, execute, options};
//   Options.codemode, Options.permission defaulting to the tool's name; Result {content, output, metadata});
//   packages/plugin/src/promise/tool.ts @196e4612 (ToolContext: sessionID, agent, messageID, id, signal)
// - events: packages/schema/src/event.ts @162a75f9 (envelope {id: "evt_…", type, created, durable, data}),
//   packages/schema/src/session-event.ts @03130971 (session.execution.started / succeeded / failed {error} /
//   interrupted {reason: user | shutdown | superseded}, session.deleted, session.compaction.started / ended /
//   failed, session.step.ended / failed, session.retry.scheduled), packages/schema/src/session-error.ts @117c0bf0 ({type, message})
// - permissions: packages/schema/src/permission.ts @047544f0 (Rule {action, resource, effect: allow | deny | ask});
//   an agent's rules are Agent.Info.permissions, by default those of Agent.Info.empty
//   (packages/schema/src/agent.ts @3ece701d: `* *` allow, then `external_directory *` ask);
//   the tool registry hides a tool whose permission the last matching rule denies for resource `*`
//   (packages/core/src/tool.ts @1001f905, `whollyDisabled`) and asks nothing before `execute`;
//   `ctx.permission.assert` (only with `assert: true`: the plugin's PermissionDomain declares it in
//   ravikanchikare/opencode packages/plugin/src/promise/permission.ts @65ad9cd5, not in the upstream
//   adapter @07bc181c or the ≥2.0.26 one) follows packages/core/src/permission.ts @025dd440: the
//   agent's rules then the session's, the last rule matching action and resource decides, `ask` when
//   none does; deny fails with BlockedError ("Permission denied: <action>"), ask publishes
//   `permission.v2.asked` and waits for a reply, a reject fails with DeclinedError (CorrectedError
//   with the person's message)
// - the event stream: packages/plugin/src/promise/adapter.ts (≥2.0.26, index id 70304099020): each
//   event is encoded with OpenCodeEvent, so one event that fails to encode fails the stream; the
//   iterator then closes, and `next()` rejects with the error
// - messages: packages/schema/src/session-message.ts @60ada05b (user {type, text}, assistant {type, agent,
//   model {id, providerID}, content [{type: "text", text}], error?})
//
// The "model" behind the agents is scripted by cues in the prompt text, as
// the end-to-end suite's mock model is: `CALL session {json}` lines make tool
// calls, `DELAY <ms>` delays the answer, `STALL` waits for an interrupt,
// `RETRY` has the provider fail once and OpenCode retry within the turn,
// `FAIL <type>` fails the execution after the tool step; otherwise agent
// `x` answers `[x] got: <text>`, or `[x] done: <tool results>` after calls.

import fs from "node:fs"
import http from "node:http"
import os from "node:os"
import path from "node:path"
import { afterEach } from "node:test"

export const LOAD_ERROR = "Plugin must export a default definition with an id and an effect or setup function."

const isRecord = (value) => typeof value === "object" && value !== null && !Array.isArray(value)

/**
 * OpenCode 2's decoder of a plugin module: `{default: {id, effect}}` or
 * `{default: {id, setup}}`, `effect` tried first; throws its LoadError.
 * @returns {{id: string, effect?: Function, setup?: Function}} the decoded copy
 */
export function decodeDefinition(mod) {
  if (!isRecord(mod) && typeof mod !== "object") throw loadError("Expected object")
  const value = mod?.default
  if (!isRecord(value)) throw loadError(`Expected object at ["default"], got ${typeof value}`)
  for (const member of ["effect", "setup"]) {
    if (typeof value.id === "string" && typeof value[member] === "function") {
      return { id: value.id, [member]: value[member] }
    }
  }
  throw loadError(`Expected {id: string, effect | setup: function} at ["default"]`)
}

function loadError(detail) {
  const error = new Error(LOAD_ERROR)
  error._tag = "PluginModule.LoadError"
  error.detail = detail
  return error
}

const DEFAULT_AGENTS = [
  { id: "build", mode: "primary", hidden: false },
  { id: "plan", mode: "primary", hidden: false },
  { id: "review", mode: "all", hidden: false },
  { id: "helper", mode: "subagent", hidden: false },
  { id: "title", mode: "primary", hidden: true },
]
/** Agent.Info.empty's rules (packages/schema/src/agent.ts @3ece701d). */
const DEFAULT_RULES = [
  { action: "*", resource: "*", effect: "allow" },
  { action: "external_directory", resource: "*", effect: "ask" },
]

/** OpenCode's wildcard match: `*` any run of characters, `?` one. */
function wildcard(text, pattern) {
  const source = pattern
    .replace(/[.+^${}()|[\]\\]/g, "\\$&")
    .replaceAll("*", ".*")
    .replaceAll("?", ".")
  return new RegExp(`^${source}$`, "s").test(text)
}

/** The rule that decides `action` on `resource`: the last that matches both, else `ask`. */
function evaluate(action, resource, rules) {
  return (
    rules.findLast((rule) => wildcard(action, rule.action) && wildcard(resource, rule.resource)) ?? { action, resource: "*", effect: "ask" }
  )
}
const MODEL = { id: "mock-model", providerID: "mock" }

/** A tagged error as OpenCode 2's API fails with it. */
class ApiError extends Error {
  constructor(tag, message) {
    super(message)
    this._tag = tag
  }
}

/** One subscriber's events, as an async iterable. */
class EventQueue {
  constructor(onClose) {
    this.items = []
    this.waiting = null
    this.closed = false
    this.onClose = onClose
  }
  /** The stream failed: a waiting `next()` rejects, and the iterator is closed. */
  fail(error) {
    if (this.closed) return
    this.closed = true
    this.onClose(this)
    this.items = []
    if (this.waiting) {
      const reject = this.waitingReject
      this.waiting = null
      reject(error)
    } else this.error = error
  }
  push(event) {
    if (this.closed) return
    if (this.waiting) {
      const resolve = this.waiting
      this.waiting = null
      resolve({ value: event, done: false })
    } else this.items.push(event)
  }
  [Symbol.asyncIterator]() {
    return {
      next: () => {
        if (this.items.length > 0) return Promise.resolve({ value: this.items.shift(), done: false })
        if (this.error) {
          const error = this.error
          this.error = undefined
          return Promise.reject(error)
        }
        if (this.closed) return Promise.resolve({ value: undefined, done: true })
        return new Promise((resolve, reject) => {
          this.waiting = resolve
          this.waitingReject = reject
        })
      },
      return: async () => {
        this.closed = true
        this.onClose(this)
        this.waiting?.({ value: undefined, done: true })
        this.waiting = null
        return { value: undefined, done: true }
      },
    }
  }
}

export class FakeOpencode2 {
  /**
   * @param {object} [o]
   * @param {"latest" | "rename" | "early"} [o.build]
   * @param {boolean} [o.server] whether `ctx.app.server` gives the server's address and password
   * @param {boolean} [o.forkApi] whether `ctx.session.fork` exists (an open upstream change adds it)
   * @param {object} [o.options] the plugin's options from cli.json
   * @param {{action: string, resource: string, effect: "allow" | "ask" | "deny"}[]} [o.rules] rules every agent
   *   has after Agent.Info.empty's (by agent: `o.agentRules`)
   * @param {Record<string, object[]>} [o.agentRules] more rules, by agent id
   * @param {boolean} [o.agentPermissions] false: agents carry no `permissions` (no build seen does this;
   *   it stands for one whose rules a plugin cannot read)
   * @param {boolean} [o.assert] whether the context has `ctx.permission.assert`
   * @param {boolean} [o.failCompaction] the next compaction fails
   */
  constructor({
    build = "latest",
    server = false,
    forkApi = false,
    options,
    rules = [],
    agentRules = {},
    agentPermissions = true,
    assert = false,
    failCompaction = false,
  } = {}) {
    this.build = build
    this.forkApi = forkApi
    this.options = options
    this.assert = assert
    this.failCompaction = failCompaction
    this.agents = DEFAULT_AGENTS.map((agent) => ({
      ...agent,
      model: MODEL,
      ...(agentPermissions ? { permissions: [...DEFAULT_RULES, ...rules, ...(agentRules[agent.id] ?? [])] } : {}),
    }))
    /** Permission requests waiting for a person, by id. */
    this.asked = new Map()
    this.sessions = new Map()
    this.tools = new Map()
    this.promptHooks = []
    this.subscribers = new Set()
    this.events = []
    this.stderr = []
    this.seq = 0
    this.ids = 0
    this.calls = []
    this.password = "secret-password"
    this.wantServer = server
    this.httpServer = null
    this.serverUrl = null
  }

  id(prefix) {
    this.ids += 1
    return `${prefix}_${String(this.ids).padStart(6, "0")}`
  }

  /** The next event fails to encode: every subscriber's stream fails with it. */
  breakStream() {
    this.unencodable = true
  }

  emit(type, data) {
    if (this.unencodable) {
      this.unencodable = false
      const error = Object.assign(new Error(`Expected a known event type, got "${type}"`), { _tag: "SchemaError" })
      for (const queue of [...this.subscribers]) queue.fail(error)
    }
    this.seq += 1
    const event = {
      id: this.id("evt"),
      type,
      created: Date.now(),
      durable: { aggregateID: data.sessionID, seq: this.seq, version: 1 },
      data,
    }
    this.events.push(event)
    for (const queue of this.subscribers) queue.push(event)
  }

  /** Loads a plugin module the way OpenCode 2 does, and runs its setup. */
  async load(mod) {
    const definition = decodeDefinition(mod)
    if (!definition.setup) throw new Error("the fake runs Promise plugins only")
    if (this.wantServer) await this.startHttp()
    const original = console.error
    console.error = (...args) => this.stderr.push(args.join(" "))
    try {
      this.cleanup = await definition.setup(this.context())
    } finally {
      this.restoreStderr = () => {
        console.error = original
      }
    }
    return definition
  }

  async stop() {
    await this.cleanup?.()
    for (const queue of [...this.subscribers]) await queue[Symbol.asyncIterator]().return()
    this.restoreStderr?.()
    await new Promise((resolve) => (this.httpServer ? this.httpServer.close(resolve) : resolve()))
  }

  // ---- the plugin context ----

  context() {
    const call = (name, fn) => async (input) => {
      this.calls.push({ name, input })
      // Bodies cross JSON before the endpoint decodes them, as in the Promise adapter.
      return fn(input === undefined ? {} : JSON.parse(JSON.stringify(input)))
    }
    const session = {
      hook: async (name, callback) => {
        if (name === "prompt") this.promptHooks.push(callback)
        return { dispose: async () => {} }
      },
      create: call("session.create", (input) => this.create(input)),
      get: call("session.get", ({ sessionID }) => this.info(this.session(sessionID))),
      prompt: call("session.prompt", (input) => this.prompt(input)),
      synthetic: call("session.synthetic", (input) => this.synthetic(input)),
      interrupt: call("session.interrupt", ({ sessionID }) => ({ interrupted: this.interrupt(sessionID) })),
    }
    if (this.build !== "early") {
      session.switchAgent = call("session.switchAgent", ({ sessionID, agent }) => {
        this.switchAgent(sessionID, agent)
      })
      session.context = call("session.context", ({ sessionID }) => this.session(sessionID).messages)
    }
    if (this.build === "rename") {
      session.rename = call("session.rename", ({ sessionID, title }) => {
        this.session(sessionID).title = title
      })
    }
    if (this.build === "latest") {
      session.update = call("session.update", ({ sessionID, title }) => {
        this.session(sessionID).title = title
      })
      session.compact = call("session.compact", ({ sessionID }) => this.compact(sessionID))
    }
    if (this.forkApi) session.fork = call("session.fork", ({ sessionID, before }) => this.fork(sessionID, before))
    const agentList = this.build === "latest" ? () => ({ location: { directory: "/project" }, data: this.agents }) : () => this.agents
    return {
      app: {
        name: "opencode",
        version: "2.0.0",
        channel: "latest",
        ...(this.serverUrl ? { server: { url: this.serverUrl, password: this.password } } : {}),
      },
      options: this.options,
      location: { directory: "/project" },
      agent: {
        list: call("agent.list", agentList),
        get: call("agent.get", ({ agentID }) => this.agents.find((agent) => agent.id === agentID)),
      },
      event: {
        subscribe: () => {
          this.calls.push({ name: "event.subscribe" })
          const queue = new EventQueue((closed) => this.subscribers.delete(closed))
          this.subscribers.add(queue)
          return queue
        },
      },
      tool: {
        transform: async (callback) => {
          callback({
            add: (tool) => this.tools.set(tool.name, tool),
            list: () => [...this.tools.values()],
            get: (id) => this.tools.get(id),
            remove: (id) => this.tools.delete(id),
          })
          return { dispose: async () => {} }
        },
      },
      session,
      plugin: { list: async () => [] },
      ...(this.assert ? { permission: this.permissionDomain(call) } : {}),
    }
  }

  // ---- permissions ----

  /** An agent's rules; an unknown agent's deny everything, as core's `missingAgentPermissions`. */
  rulesFor(agentID) {
    const agent = this.agents.find((entry) => entry.id === agentID)
    if (!agent) return [{ action: "*", resource: "*", effect: "deny" }]
    return agent.permissions ?? []
  }

  permissionDomain(call) {
    return {
      assert: call("permission.assert", (input) => this.assertPermission(input)),
      list: call("permission.list", () => [...this.asked.values()].map(({ request }) => request)),
      get: call("permission.get", ({ requestID }) => this.asked.get(requestID)?.request),
      reply: call("permission.reply", ({ requestID, reply, message }) => this.replyPermission(requestID, reply, message)),
      hook: async () => ({ dispose: async () => {} }),
    }
  }

  assertPermission({ sessionID, agent, action, resources, save, metadata }) {
    required("action", action, "string")
    const session = this.session(sessionID)
    const rules = [...this.rulesFor(agent ?? session.agent), ...(session.permissions ?? [])]
    const effects = resources.map((resource) => evaluate(action, resource, rules).effect)
    if (effects.includes("deny")) throw new ApiError("Permission.BlockedError", `Permission denied: ${action}`)
    if (!effects.includes("ask")) return undefined
    const request = { id: this.id("per"), sessionID, action, resources, save, metadata }
    this.emit("permission.v2.asked", request)
    return new Promise((resolve, reject) => this.asked.set(request.id, { request, resolve, reject }))
  }

  /** A person answers a permission request: once, always or reject (with an optional message). */
  replyPermission(requestID, reply, message) {
    const pending = this.asked.get(requestID)
    if (!pending) throw new ApiError("PermissionNotFoundError", `Permission request not found: ${requestID}`)
    this.asked.delete(requestID)
    this.emit("permission.v2.replied", { sessionID: pending.request.sessionID, requestID, reply })
    if (reply !== "reject") return pending.resolve()
    pending.reject(
      message
        ? Object.assign(new ApiError("Permission.CorrectedError", message), { feedback: message })
        : new ApiError("Permission.DeclinedError", ""),
    )
  }

  // ---- sessions ----

  session(id) {
    const session = this.sessions.get(id)
    if (!session) throw new ApiError("SessionNotFoundError", `Session not found: ${id}`)
    return session
  }

  /** Session.Info (packages/schema/src/session.ts @06f9d1a6): `model` is optional, set only by switchModel. */
  info(session) {
    return { id: session.id, title: session.title, parentID: session.parentID, agent: session.agent }
  }

  create({ title, agent, parentID } = {}) {
    const session = {
      id: this.id("ses"),
      // The early build's create takes no title.
      title: this.build === "early" || typeof title !== "string" ? "New session" : title,
      parentID,
      agent: agent ?? "build",
      messages: [],
      inbox: [],
      running: null,
    }
    this.sessions.set(session.id, session)
    return this.info(session)
  }

  fork(sessionID, before) {
    const parent = this.session(sessionID)
    const cut = before === undefined ? parent.messages.length : parent.messages.findIndex((m) => m.id === before)
    if (cut < 0) throw new ApiError("MessageNotFoundError", `Message not found: ${before}`)
    const info = this.create({ title: `${parent.title} (fork)`, agent: parent.agent, parentID: sessionID })
    this.session(info.id).messages = structuredClone(parent.messages.slice(0, cut))
    this.emit("session.forked", { sessionID: info.id, parentID: sessionID, parentSeq: this.seq, from: before })
    return info
  }

  switchAgent(sessionID, agent) {
    required("agent", agent, "string")
    if (!this.agents.some((a) => a.id === agent)) throw new ApiError("InvalidRequestError", `unknown agent ${agent}`)
    this.session(sessionID).agent = agent
    this.emit("session.agent.selected", { sessionID, agent })
  }

  /** A prompt: admitted to the inbox, run when the session is free. */
  prompt({ sessionID, text, metadata, delivery = "steer", resume = true }) {
    required("text", text, "string")
    const session = this.session(sessionID)
    const id = this.id("msg")
    for (const hook of this.promptHooks) hook({ sessionID, messageID: id, prompt: { text }, metadata, delivery })
    session.inbox.push({ id, type: "user", text, metadata, agent: session.agent })
    if (resume) this.wake(session)
    return { id, sessionID, timeCreated: Date.now(), type: "user", payload: { text, metadata }, delivery }
  }

  synthetic({ sessionID, text, metadata, resume = true }) {
    required("text", text, "string")
    const session = this.session(sessionID)
    const message = { id: this.id("msg"), type: "synthetic", text, metadata, time: { created: Date.now() } }
    session.messages.push(message)
    this.emit("session.synthetic", { sessionID, text, metadata })
    if (resume) this.wake(session)
    return { id: message.id, sessionID, timeCreated: Date.now(), type: "synthetic", payload: { text }, delivery: "queue" }
  }

  compact(sessionID) {
    const session = this.session(sessionID)
    const id = this.id("msg")
    session.inbox.push({ id, type: "compaction" })
    this.wake(session)
    return { id, sessionID, timeCreated: Date.now(), type: "compaction", payload: {}, delivery: "steer" }
  }

  /** A person types into the session (no metadata mark). */
  personPrompt(sessionID, text, agent) {
    if (agent) this.switchAgent(sessionID, agent)
    return this.prompt({ sessionID, text, delivery: "queue" })
  }

  interrupt(sessionID) {
    const running = this.session(sessionID).running
    if (!running) return false
    running.abort.abort()
    return true
  }

  deleteSession(sessionID) {
    this.session(sessionID).running?.abort.abort("deleted")
    this.sessions.delete(sessionID)
    this.emit("session.deleted", { sessionID })
  }

  // ---- executions ----

  wake(session) {
    if (session.running || session.inbox.length === 0) return
    const abort = new AbortController()
    session.running = { abort }
    // Admitted now, run on a later tick, as a durable inbox would.
    setTimeout(() => void this.execute(session, abort), 0)
  }

  async execute(session, abort) {
    this.emit("session.execution.started", { sessionID: session.id })
    let end = { type: "session.execution.succeeded", data: { sessionID: session.id } }
    try {
      while (session.inbox.length > 0 && !abort.signal.aborted) {
        const item = session.inbox.shift()
        if (item.type === "compaction") await this.runCompaction(session)
        else await this.runTurn(session, item, abort.signal)
      }
      if (abort.signal.aborted) throw abort.signal.reason
    } catch (error) {
      end = abort.signal.aborted
        ? { type: "session.execution.interrupted", data: { sessionID: session.id, reason: "user" } }
        : { type: "session.execution.failed", data: { sessionID: session.id, error: error.sessionError } }
    }
    session.running = null
    if (!this.sessions.has(session.id)) return
    this.emit(end.type, end.data)
    this.wake(session)
  }

  async runCompaction(session) {
    this.emit("session.compaction.started", { sessionID: session.id, reason: "manual", recent: "" })
    await pause(20)
    if (this.failCompaction) {
      this.failCompaction = false
      const error = { type: "ProviderError", message: "context too long to summarize" }
      this.emit("session.compaction.failed", { sessionID: session.id, reason: "manual", error })
      throw Object.assign(new Error(error.message), { sessionError: error })
    }
    const summary = `SUMMARY: ${session.messages.length} messages summarized`
    session.messages = [{ id: this.id("msg"), type: "compaction", summary, time: { created: Date.now() } }]
    this.emit("session.compaction.ended", { sessionID: session.id, reason: "manual", text: summary, recent: "" })
  }

  async runTurn(session, input, signal) {
    const agent = session.agent
    session.messages.push({ id: input.id, type: "user", text: input.text, metadata: input.metadata, agent, time: { created: Date.now() } })
    const assistant = { id: this.id("msg"), type: "assistant", agent, model: MODEL, content: [], time: { created: Date.now() } }
    session.messages.push(assistant)
    const cues = parseCues(input.text)
    // The tool calls of one step run at once, as the AI SDK runs them.
    const results = await Promise.all(cues.calls.map((args) => this.callTool(session, agent, assistant.id, args, signal)))
    this.emit("session.step.ended", {
      sessionID: session.id,
      assistantMessageID: assistant.id,
      finish: cues.calls.length ? "tool-calls" : "stop",
    })
    if (cues.fail) {
      const error = { type: cues.fail, message: `the model failed (${cues.fail})` }
      assistant.error = error
      this.emit("session.step.failed", { sessionID: session.id, assistantMessageID: assistant.id, error })
      throw Object.assign(new Error(error.message), { sessionError: error })
    }
    if (cues.retry) {
      // A provider error OpenCode retries within the execution: the turn goes on.
      const error = { type: "ProviderError", message: "HTTP 500", status: 500 }
      this.emit("session.retry.scheduled", {
        sessionID: session.id,
        assistantMessageID: assistant.id,
        attempt: 1,
        at: Date.now() + 50,
        error,
      })
      await pause(50, signal)
    }
    if (cues.stall) await new Promise((resolve) => signal.addEventListener("abort", resolve, { once: true }))
    if (cues.delay) await pause(cues.delay, signal)
    if (signal.aborted) throw signal.reason
    const answer = cues.calls.length ? `[${agent}] done: ${results.join(" | ")}` : `[${agent}] got: ${cues.text}`
    assistant.content.push({ type: "text", id: this.id("prt"), text: answer })
    assistant.time.completed = Date.now()
  }

  /**
   * Runs a tool call as OpenCode 2 does: a tool the agent's rules deny wholly
   * is not offered (the model cannot call it), any other runs `execute`.
   */
  async callTool(session, agent, messageID, args, signal) {
    const tool = this.tools.get("session")
    if (tool?.options?.codemode !== false) return "error: no tool session"
    const permission = tool.options?.permission ?? tool.name
    const last = this.rulesFor(agent).findLast((rule) => wildcard(permission, rule.action))
    if (last?.resource === "*" && last.effect === "deny") return "error: no tool session"
    try {
      const result = await tool.execute(args, {
        sessionID: session.id,
        agent,
        messageID,
        id: this.id("call"),
        signal,
        progress: async () => {},
      })
      return typeof result?.content === "string" ? result.content : JSON.stringify(result)
    } catch (error) {
      return `error: ${error.message}`
    }
  }

  // ---- the host's HTTP server, for what the plugin API lacks ----

  async startHttp() {
    const expected = `Basic ${Buffer.from(`opencode:${this.password}`).toString("base64")}`
    this.httpServer = http.createServer((req, res) => {
      let body = ""
      req.on("data", (chunk) => (body += chunk))
      req.on("end", () => {
        const reply = (status, value) => {
          res.writeHead(status, { "content-type": "application/json" })
          res.end(value === undefined ? "" : JSON.stringify(value))
        }
        if (req.headers.authorization !== expected) return reply(401, { _tag: "UnauthorizedError" })
        const input = body ? JSON.parse(body) : {}
        this.calls.push({ name: `http ${req.method} ${req.url}`, input })
        const match = /^\/api\/session\/([^/]+)(\/fork|\/compact)?$/.exec(req.url)
        try {
          if (match && req.method === "POST" && match[2] === "/fork") return reply(200, { data: this.fork(match[1], input.before) })
          if (match && req.method === "POST" && match[2] === "/compact") return reply(200, { data: this.compact(match[1]) })
          if (match && req.method === "PATCH" && !match[2]) {
            this.session(match[1]).title = input.title
            return reply(204)
          }
          reply(404, { _tag: "NotFound" })
        } catch (error) {
          reply(404, { _tag: error._tag, message: error.message })
        }
      })
    })
    await new Promise((resolve) => this.httpServer.listen(0, "127.0.0.1", resolve))
    this.serverUrl = `http://127.0.0.1:${this.httpServer.address().port}`
  }

  // ---- for the tests ----

  /** A person starts a turn in a new session. */
  async startTurn(text, agent = "build") {
    const { id } = this.create({ title: "test" })
    this.personPrompt(id, text, agent)
    return id
  }

  /** Resolves once `check()` returns something truthy. */
  async until(check, { timeoutMs = 5_000, describe = () => "" } = {}) {
    const start = Date.now()
    for (;;) {
      const value = check()
      if (value) return value
      if (Date.now() - start > timeoutMs) throw new Error(`timed out: ${describe()}\n${this.stderr.join("\n")}`)
      await pause(5)
    }
  }

  idle(sessionID) {
    const session = this.sessions.get(sessionID)
    return session && !session.running && session.inbox.length === 0
  }

  transcript(sessionID) {
    return this.session(sessionID).messages.map((m) => {
      if (m.type === "user") return `user → ${m.agent}: ${m.text}`
      if (m.type === "assistant") return `${m.agent}: ${m.content.map((c) => c.text).join("")}${m.error ? ` [${m.error.type}]` : ""}`
      if (m.type === "synthetic") return `note: ${m.text}`
      return `${m.type}: ${m.summary ?? ""}`
    })
  }
}

/** A payload key the endpoint's schema requires, refused as the schema decoder refuses it. */
function required(key, value, type) {
  if (typeof value !== type) throw new ApiError("InvalidRequestError", `Missing key\n  at ["${key}"]`)
}

/** The cues of a prompt: tool calls, delays, stalls and failures, and the rest of its text. */
function parseCues(text) {
  const calls = []
  const rest = []
  let delay = 0
  let stall = false
  let retry = false
  let fail = null
  for (const line of text.split("\n")) {
    const call = /^CALL session (.+)$/.exec(line)
    if (call) calls.push(JSON.parse(call[1]))
    else if (/^DELAY (\d+)$/.test(line)) delay = Number(line.slice(6))
    else if (line === "STALL") stall = true
    else if (line === "RETRY") retry = true
    else if (/^FAIL \w+$/.test(line)) fail = line.slice(5)
    else rest.push(line)
  }
  return { calls, delay, stall, retry, fail, text: rest.join("\n").trim() }
}

function pause(ms, signal) {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms)
    signal?.addEventListener(
      "abort",
      () => {
        clearTimeout(timer)
        resolve()
      },
      { once: true },
    )
  })
}

/** The `CALL session` cue lines for tool calls with these arguments. */
export const cue = (...calls) => calls.map((args) => `CALL session ${JSON.stringify(args)}`).join("\n")

/** A fresh state directory for the plugin's list of pending hand-offs, so no test sees another's. */
export function isolateState() {
  const directory = fs.mkdtempSync(path.join(os.tmpdir(), "opencode-sessions-v2-"))
  process.env.XDG_STATE_HOME = directory
  process.once("exit", () => fs.rmSync(directory, { recursive: true, force: true }))
}

/**
 * A model per test: the function it returns boots one that loaded
 * `pluginModule` (with a fresh state directory), and each is stopped once
 * its test ends.
 * @returns {(options?: object) => Promise<FakeOpencode2>}
 */
export function modelPerTest(pluginModule) {
  let current
  afterEach(async () => {
    await current?.stop()
    current = undefined
  })
  return async (options = {}) => {
    isolateState()
    current = new FakeOpencode2(options)
    await current.load(pluginModule)
    return current
  }
}
