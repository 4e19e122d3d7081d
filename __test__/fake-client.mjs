// A stand-in for OpenCode's SDK client implementing only what the plugin
// calls. Every call is recorded; answers can be overridden per method.

import fs from "node:fs"
import os from "node:os"
import path from "node:path"

export function fakeClient(overrides = {}) {
  const calls = []
  let nextSession = 1
  const agents = [
    { name: "build", mode: "primary" },
    { name: "plan", mode: "primary" },
    { name: "general", mode: "subagent" },
    { name: "title", mode: "primary", hidden: true },
  ]
  const ok = (data) => ({ data, response: { ok: true, status: 200 } })
  const defaults = {
    "app.agents": () => ok(agents),
    "app.log": () => ok(true),
    "tui.showToast": () => ok(true),
    "session.create": ({ body }) => ok({ id: `ses_new${nextSession++}`, title: body.title }),
    "session.fork": ({ path }) => ok({ id: `ses_fork${nextSession++}`, title: `${path.id} (fork #1)` }),
    "session.promptAsync": () => ({ data: undefined, response: { ok: true, status: 204 } }),
    "session.messages": () =>
      ok([
        { info: { role: "user", model: { providerID: "old", modelID: "old-model" } }, parts: [] },
        { info: { role: "user", model: { providerID: "mock", modelID: "mock-model" } }, parts: [] },
        { info: { role: "assistant" }, parts: [] },
      ]),
    "session.summarize": () => ok(true),
    "session.update": ({ path, body }) => ok({ id: path.id, title: body.title }),
    "tui.publish": () => ok(true),
  }
  const answer = { ...defaults, ...overrides }
  const method = (name) => async (options) => {
    calls.push({ name, options })
    return answer[name](options)
  }
  const client = {
    app: { agents: method("app.agents"), log: method("app.log") },
    tui: { showToast: method("tui.showToast"), publish: method("tui.publish") },
    session: {
      create: method("session.create"),
      fork: method("session.fork"),
      promptAsync: method("session.promptAsync"),
      messages: method("session.messages"),
      summarize: method("session.summarize"),
      update: method("session.update"),
    },
  }
  return {
    client,
    calls,
    /** Recorded calls of one method, e.g. "session.promptAsync". */
    of: (name) => calls.filter((call) => call.name === name),
  }
}

/** The context OpenCode hands a tool's `execute`. */
export function toolContext(sessionID = "ses_1", agent = "build", ask = async () => {}) {
  return {
    sessionID,
    messageID: "msg_inflight",
    agent,
    callID: "call_1",
    abort: new AbortController().signal,
    metadata() {},
    ask,
  }
}

export const status = (sessionID, type) => ({ type: "session.status", properties: { sessionID, status: { type } } })
export const idleEvent = (sessionID) => ({ type: "session.idle", properties: { sessionID } })

/** Lets pending promise callbacks run. */
export const settle = () => new Promise((resolve) => setTimeout(resolve, 5))

let projects = 0

/**
 * A project directory of the test's own, with the plugin's pending hand-offs
 * kept in a temporary XDG_STATE_HOME: no test finds what another left pending.
 */
export function isolatedProject() {
  process.env.XDG_STATE_HOME ??= fs.mkdtempSync(path.join(os.tmpdir(), "sessions-state-"))
  return `/tmp/opencode-sessions-test-${process.pid}-${++projects}`
}

/** A `session` tool call as the plugin hands it to the engine. */
export const toolCallInput = (overrides = {}) => ({
  sessionId: "ses_1",
  messageId: "msg_1",
  callerAgent: "build",
  mode: "message",
  text: "review this",
  ...overrides,
})

/**
 * The input methods of the native engine, which `RelayEngine#inputs` binds:
 * each returns JSON (a drain or null; `toolCall` the call's id and drain).
 */
export const INPUT_METHODS = [
  "status",
  "idle",
  "compacted",
  "deleted",
  "sessionError",
  "stepFinished",
  "toolState",
  "personEvent",
  "turnEnding",
  "userMessage",
  "timeout",
  "toolCall",
  "outcome",
  "restored",
]
const RETURNS_JSON = new Set(INPUT_METHODS)

/** The engine as tests read it: what its input methods return, parsed. */
export function parsing(engine) {
  return new Proxy(engine, {
    get(target, key) {
      const value = Reflect.get(target, key, target)
      if (!RETURNS_JSON.has(key)) return typeof value === "function" ? value.bind(target) : value
      return (...args) => {
        const json = value.apply(target, args)
        return json === null ? null : JSON.parse(json)
      }
    },
  })
}
