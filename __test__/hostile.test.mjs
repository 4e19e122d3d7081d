// Hostile input at the boundary: every argument of the binding and every
// plugin hook fed values of the wrong type and shape, out-of-range numbers,
// huge and garbled text. Each is refused with an error naming what is wrong,
// or ignored; nothing crashes, and the engine goes on working afterwards.

import assert from "node:assert/strict"
import { test } from "node:test"
import { RelayEngine } from "../index.js"
import { createEventReader } from "../lib/hosts/opencode-v1.js"
import { createPlugin } from "../lib/plugin.js"
import { fakeClient, isolatedProject, parsing, settle, status, toolCallInput, toolContext } from "./fake-client.mjs"

const PREFIX = "opencode-sessions: "
const MODES = "use one of message, new, compact, fork, status, cancel"
const MAX_TEXT_BYTES = 1024 * 1024
const TEXT_LIMIT = `over the limit of ${MAX_TEXT_BYTES} bytes (1 MiB): shorten it, or write the details to a file and name the file in \`text\``

const call = toolCallInput

/** Asserts that `run` throws an Error whose message is exactly `message`. */
function refuses(run, message, label = message) {
  let thrown
  try {
    run()
  } catch (error) {
    thrown = error
  }
  assert.ok(thrown instanceof Error, `${label}: expected an Error, got ${String(thrown)}`)
  assert.equal(thrown.message, PREFIX + message, label)
}

/**
 * A full `message` relay through a bare engine: the agent list, the
 * permission, the reply, and the prompt on the idle edge. Proves the engine
 * still works after whatever it was fed before.
 */
function relayStillWorks(engine, sessionId = "ses_ok") {
  let now = 1_000_000
  const actions = (drain) => drain?.actions ?? []
  const started = engine.toolCall(now, call({ sessionId, agent: "plan", text: "still working" }))
  const list = actions(started.drain).find((a) => a.type === "request" && a.request.op === "listAgents")
  assert.ok(list, "the call asks for the agent list")
  const listed = engine.outcome(++now, list.id, {
    type: "agents",
    agents: [
      { name: "build", mode: "primary" },
      { name: "plan", mode: "primary" },
    ],
  })
  const ask = actions(listed).find((a) => a.type === "request" && a.request.op === "askPermission")
  const allowed = engine.outcome(++now, ask.id, { type: "done" })
  const reply = actions(allowed).find((a) => a.type === "replyToTool" && a.call === started.call)
  assert.equal(reply.ok, true, reply.text)
  const idle = engine.status(++now, sessionId, false)
  const prompt = actions(idle).find((a) => a.type === "request" && a.request.op === "prompt")
  assert.deepEqual(prompt.request, { op: "prompt", sessionId, agent: "plan", parts: ["still working"] })
}

/** A label for any value, BigInt and Symbol included. */
const label = (value) => {
  try {
    return JSON.stringify(value, (_, v) => (typeof v === "bigint" ? `${v}n` : v)) ?? String(value)
  } catch {
    return String(value)
  }
}

/** Values of every JS type but the one wanted, with the words the engine uses for them. */
const NOT_A_NUMBER = [
  [undefined, "undefined"],
  [null, "null"],
  ["5", "a string"],
  [true, "a boolean"],
  [[], "an object"],
  [{}, "an object"],
  [5n, "a bigint"],
  [Symbol("now"), "a symbol"],
  [() => 5, "a function"],
]
const NOT_A_STRING = NOT_A_NUMBER.map(([value, kind]) => (value === "5" ? [5, "a number"] : [value, kind]))
const BAD_NUMBERS = [
  [NaN, "NaN"],
  [Infinity, "Infinity"],
  [-Infinity, "-Infinity"],
  [-1, "-1"],
  [0.5, "0.5"],
  [2 ** 53, "9007199254740992"],
  [1e300, "1e300"],
]

/** Options the plugin cannot load with: the message also says where to fix them. */
const FIX_OPTIONS = '. Fix it under "opencode-sessions" in the "plugin" list of opencode.json; the session tool stays off until then.'
const refusesOptions = (run, message) => refuses(run, message + FIX_OPTIONS, message)

test("engine: options of the wrong type are refused, naming what was expected", () => {
  for (const [options, kind] of [
    [5, "a number"],
    ["maxHops", "a string"],
    [[], "a list"],
    [true, "a boolean"],
    [5n, "a number"],
  ]) {
    refusesOptions(() => new RelayEngine(options), `invalid options: expected an object like { "maxHops": 8 }, got ${kind}`)
  }
  refusesOptions(() => new RelayEngine(Symbol("o")), "malformed options: JS symbols cannot be represented as a serde_json::Value")
  refusesOptions(
    () => new RelayEngine({ maxHops: () => 1 }),
    "malformed options: JS functions cannot be represented as a serde_json::Value",
  )
  refusesOptions(
    () => new RelayEngine({ maxHops: NaN }),
    "malformed options: holds a number that is NaN or infinite, which JSON cannot represent",
  )
  refusesOptions(
    () => new RelayEngine({ maxHops: 2 ** 53 }),
    'invalid option "maxHops": must be a whole number from 1 to 1000, got 9007199254740992.0',
  )
  refusesOptions(
    () => new RelayEngine({ agents: ["../../etc/passwd", 5] }),
    'invalid option "agents": must be a non-empty list of names, got ["../../etc/passwd",5]',
  )
  assert.deepEqual(new RelayEngine(undefined).enabledModes(), ["message", "new", "compact", "fork", "status", "cancel"])
  assert.deepEqual(new RelayEngine(null).enabledModes(), ["message", "new", "compact", "fork", "status", "cancel"])
})

/** Every input method that takes the time first, with valid other arguments. */
const TIMED = {
  toolCall: (engine, now) => engine.toolCall(now, call()),
  status: (engine, now) => engine.status(now, "s", true),
  idle: (engine, now) => engine.idle(now, "s"),
  compacted: (engine, now) => engine.compacted(now, "s"),
  deleted: (engine, now) => engine.deleted(now, "s"),
  sessionError: (engine, now) => engine.sessionError(now, "s", "UnknownError", "boom"),
  stepFinished: (engine, now) => engine.stepFinished(now, "s", "stop", null),
  outcome: (engine, now) => engine.outcome(now, 1, { type: "done" }),
  timeout: (engine, now) => engine.timeout(now),
  restored: (engine, now) => engine.restored(now, []),
}

test("engine: nowMs and ids that are not whole numbers from 0 to 2^53 - 1 are refused", () => {
  const engine = parsing(new RelayEngine())
  for (const [value, kind] of NOT_A_NUMBER) {
    for (const [method, feed] of Object.entries(TIMED)) {
      refuses(() => feed(engine, value), `malformed nowMs: expected a whole number, got ${kind}`, `${method}(${label(value)})`)
    }
    refuses(() => engine.outcome(0, value, { type: "done" }), `malformed action id: expected a whole number, got ${kind}`)
  }
  for (const [value, shown] of BAD_NUMBERS) {
    const expected = `expected a whole number from 0 to 2^53 - 1, got ${shown}`
    for (const [method, feed] of Object.entries(TIMED)) refuses(() => feed(engine, value), `malformed nowMs: ${expected}`, method)
    refuses(() => engine.outcome(0, value, { type: "done" }), `malformed action id: ${expected}`)
  }
  // The largest exact integer is accepted; an id nobody waits for changes nothing.
  assert.equal(engine.outcome(2 ** 53 - 1, 2 ** 53 - 1, { type: "done" }), null)
  assert.equal(engine.isEmpty, true, "nothing was accepted")
  relayStillWorks(engine)
})

test("engine: string and boolean arguments of the wrong type are refused, naming the argument", () => {
  const engine = parsing(new RelayEngine())
  const events = {
    status: (id) => engine.status(0, id, true),
    idle: (id) => engine.idle(0, id),
    compacted: (id) => engine.compacted(0, id),
    deleted: (id) => engine.deleted(0, id),
    stepFinished: (id) => engine.stepFinished(0, id, null, null),
  }
  for (const [value, kind] of NOT_A_STRING) {
    refuses(() => engine.userMessage(value, false), `malformed sessionId: expected a string, got ${kind}`)
    refuses(() => engine.pendingRelays(value), `malformed sessionId: expected a string, got ${kind}`)
    refuses(() => engine.hops(value), `malformed sessionId: expected a string, got ${kind}`)
    for (const [method, feed] of Object.entries(events))
      refuses(() => feed(value), `malformed sessionId: expected a string, got ${kind}`, method)
  }
  // An event names a session by a non-empty id; an error may name none.
  for (const [method, feed] of Object.entries(events)) {
    refuses(() => feed(""), 'malformed sessionId: expected a non-empty string, got ""', method)
  }
  for (const [value, kind] of NOT_A_STRING.filter(([v]) => v !== undefined && v !== null)) {
    const expected = `expected a string or null, got ${kind}`
    refuses(() => engine.sessionError(0, value, null, null), `malformed sessionId: ${expected}`)
    refuses(() => engine.sessionError(0, "s", value, null), `malformed name: ${expected}`)
    refuses(() => engine.sessionError(0, "s", null, value), `malformed message: ${expected}`)
    refuses(() => engine.stepFinished(0, "s", value, null), `malformed finish: ${expected}`)
    refuses(() => engine.stepFinished(0, "s", null, value), `malformed error: ${expected}`)
  }
  for (const value of [undefined, null, ""]) {
    assert.equal(engine.sessionError(0, value, "UnknownError", "boom"), null, `an error of no session (${label(value)}) changes nothing`)
  }
  for (const [value, kind] of [
    [undefined, "undefined"],
    [1, "a number"],
    ["true", "a string"],
    [null, "null"],
  ]) {
    refuses(() => engine.userMessage("ses_1", value), `malformed fromPlugin: expected true or false, got ${kind}`)
    refuses(() => engine.status(0, "ses_1", value), `malformed busy: expected true or false, got ${kind}`)
  }
  assert.equal(engine.isEmpty, true, "nothing was accepted")
  relayStillWorks(engine)
})

test("engine: a tool call that is not an object is refused", () => {
  const engine = parsing(new RelayEngine())
  const expected = "malformed tool call: expected an object {sessionId, messageId, callerAgent, mode, text, agent?}, got"
  for (const [value, kind] of [
    [null, "null"],
    [5, "a number"],
    ["fork", "a string"],
    [[call()], "a list"],
    [true, "a boolean"],
    [5n, "a number"],
  ]) {
    refuses(() => engine.toolCall(0, value), `${expected} ${kind}`)
  }
  refuses(() => engine.toolCall(0, undefined), "malformed tool call: expected an object, got undefined")
  refuses(() => engine.toolCall(0, Symbol("c")), "malformed tool call: JS symbols cannot be represented as a serde_json::Value")
  refuses(() => engine.toolCall(0, () => call()), "malformed tool call: JS functions cannot be represented as a serde_json::Value")
  const cyclic = call()
  cyclic.self = cyclic
  refuses(() => engine.toolCall(0, cyclic), "malformed tool call: Exceeded maximum JSON nesting depth")
  relayStillWorks(engine)
})

test("engine: each field of a tool call of the wrong type is refused, naming the field and what it got", () => {
  const engine = parsing(new RelayEngine())
  const wrong = [
    [5, "the number 5"],
    [5n, "the number 5"],
    [true, "true"],
    [["plan"], 'a list ["plan"]'],
    [{ name: "plan" }, 'an object {"name":"plan"}'],
  ]
  const expected = {
    sessionId: "a string",
    messageId: "a string",
    callerAgent: "a string",
    mode: 'one of "message", "new", "compact", "fork", "status", "cancel"',
    text: "a string",
    agent: "the name of a primary agent, or left out",
  }
  for (const [field, wanted] of Object.entries(expected)) {
    for (const [value, got] of wrong) {
      refuses(
        () => engine.toolCall(0, call({ [field]: value })),
        `\`${field}\` must be ${wanted}, got ${got}`,
        `${field} = ${String(value)}`,
      )
    }
    refuses(
      () => engine.toolCall(0, call({ [field]: NaN })),
      "malformed tool call: holds a number that is NaN or infinite, which JSON cannot represent",
    )
    refuses(
      () => engine.toolCall(0, call({ [field]: Symbol("x") })),
      "malformed tool call: JS symbols cannot be represented as a serde_json::Value",
    )
  }
  relayStillWorks(engine)
})

test("engine: missing fields are refused with what to do; a missing agent or text for status is fine", () => {
  const engine = parsing(new RelayEngine())
  for (const field of ["sessionId", "messageId", "callerAgent"]) {
    const message = `\`${field}\` is missing or empty: OpenCode passes it with every tool call, so the host must forward it`
    for (const value of [undefined, null, "", "  \n"]) refuses(() => engine.toolCall(0, call({ [field]: value })), message)
  }
  for (const value of [undefined, null]) refuses(() => engine.toolCall(0, call({ mode: value })), `\`mode\` is missing: ${MODES}`)
  for (const value of [undefined, null, "", " \t\n "]) {
    refuses(() => engine.toolCall(0, call({ text: value })), "`text` is empty: write what the receiving agent should do")
  }
  refuses(() => engine.toolCall(0, {}), `\`mode\` is missing: ${MODES}`)
  assert.equal(engine.isEmpty, true, "nothing was accepted")
  // Left out: agent means the caller; status needs no text. Both are taken.
  assert.equal(typeof engine.toolCall(0, call({ agent: undefined })).call, "number")
  assert.equal(typeof engine.toolCall(0, call({ mode: "status", text: undefined })).call, "number")
  relayStillWorks(engine)
})

test("engine: unknown and oddly written modes are refused, quoted escaped, with a hint", () => {
  const engine = parsing(new RelayEngine())
  const cases = [
    ["FORK", '"FORK" (did you mean "fork"?)'],
    ["Message", '"Message" (did you mean "message"?)'],
    ["fork\u0000", '"fork\\0" (did you mean "fork"?)'],
    ["\u200Ffork", '"\\u{200f}fork" (did you mean "fork"?)'],
    ["fork,new", '"fork,new"'],
    ["teleport", '"teleport"'],
    ["", '""'],
    ["m".repeat(100_000), `"${"m".repeat(59)}"… (100000 characters)`],
  ]
  for (const [mode, shown] of cases) refuses(() => engine.toolCall(0, call({ mode })), `unknown mode ${shown}: ${MODES}`)
  // Surrounding whitespace is forgiven.
  for (const mode of [" fork ", "fork\n", "\tstatus"]) assert.equal(typeof engine.toolCall(0, call({ mode })).call, "number", label(mode))
  relayStillWorks(engine)
})

test("engine: text up to 1 MiB is taken, larger text is refused naming the limit", () => {
  const engine = parsing(new RelayEngine())
  const megabyte = "x".repeat(1_000_000)
  const id = engine.toolCall(0, call({ mode: "new", text: megabyte })).call
  assert.equal(typeof id, "number")
  assert.equal(typeof engine.toolCall(0, call({ mode: "new", text: "y".repeat(MAX_TEXT_BYTES) })).call, "number")
  // Counted in bytes of UTF-8: 2 bytes for each "é".
  refuses(
    () => engine.toolCall(0, call({ text: "é".repeat(MAX_TEXT_BYTES / 2 + 1) })),
    `\`text\` is ${MAX_TEXT_BYTES + 2} bytes long, ${TEXT_LIMIT}`,
  )
  const started = Date.now()
  refuses(
    () => engine.toolCall(0, call({ text: "z".repeat(16 * MAX_TEXT_BYTES) })),
    `\`text\` is ${16 * MAX_TEXT_BYTES} bytes long, ${TEXT_LIMIT}`,
  )
  assert.ok(Date.now() - started < 2_000, "a 16 MiB text is refused quickly")
  relayStillWorks(engine)
})

test("engine: agent names over 128 characters are refused; odd ones are checked against the agent list", () => {
  const engine = parsing(new RelayEngine())
  refuses(
    () => engine.toolCall(0, call({ agent: "p".repeat(129) })),
    "`agent` is 129 characters long, longer than any agent name (at most 128): name a primary agent such as build or plan, or leave `agent` out to answer yourself",
  )
  refuses(
    () => engine.toolCall(0, call({ agent: "p".repeat(1_000_000) })),
    "`agent` is 1000000 characters long, longer than any agent name (at most 128): name a primary agent such as build or plan, or leave `agent` out to answer yourself",
  )
  relayStillWorks(engine)
})

test("opencode-v1 tool parts cross only as a tool starts and ends; permission and question events cross whole", () => {
  const engine = parsing(new RelayEngine())
  const crossed = []
  const spy = new Proxy(engine, {
    get(target, name) {
      const value = target[name]
      if (typeof value !== "function") return value
      return (...args) => {
        crossed.push([name, ...args.slice(1)])
        return value.apply(target, args)
      }
    },
  })
  const { read } = createEventReader(
    (feed) => feed(spy, 0),
    (detail) => assert.fail(detail),
  )
  const part = (status, extra = {}) => ({
    type: "message.part.updated",
    properties: { part: { id: "prt_1", sessionID: "s", type: "tool", tool: "bash", state: { status, ...extra } } },
  })
  for (const event of [part("pending"), part("running"), part("running", { metadata: { output: "a" } }), part("completed")]) {
    read(event)
  }
  read({
    type: "message.part.updated",
    properties: { part: { id: "prt_2", sessionID: "s", type: "tool", tool: 5, state: { status: "running" } } },
  })
  read({
    type: "message.part.updated",
    properties: { part: { id: "prt_3", sessionID: "s", type: "tool", tool: "read", state: { status: "completed" } } },
  })
  assert.deepEqual(crossed, [
    ["toolState", "s", "prt_1", "bash", true],
    ["toolState", "s", "prt_1", "bash", false],
  ])
  // A part whose session is deleted mid-tool never ends: it is forgotten with its session.
  crossed.length = 0
  const runningIn = (sessionID) => ({
    type: "message.part.updated",
    properties: { part: { id: "prt_9", sessionID, type: "tool", tool: "bash", state: { status: "running" } } },
  })
  read(runningIn("t"))
  read({ type: "session.deleted", properties: { info: { id: "t" } } })
  read(runningIn("u"))
  assert.deepEqual(
    crossed.filter(([name]) => name === "toolState"),
    [
      ["toolState", "t", "prt_9", "bash", true],
      ["toolState", "u", "prt_9", "bash", true],
    ],
  )
  crossed.length = 0
  const asked = { type: "permission.asked", properties: { id: "per_1", sessionID: "s", permission: "bash", patterns: ["ls"] } }
  read(asked)
  assert.deepEqual(crossed, [["personEvent", asked]])
  // OpenCode 1.14's carry functions, which cannot cross: only the fields read do.
  crossed.length = 0
  const withFunctions = { ...asked, properties: { ...asked.properties, always: ["*"], tool: { callID: "c" }, toJSON() {} } }
  read(withFunctions)
  assert.deepEqual(crossed, [["personEvent", asked]])
  assert.doesNotThrow(() => engine.personEvent(0, crossed[0][1]))
  assert.throws(
    () => engine.personEvent(0, { type: "session.idle", properties: { sessionID: "s" } }),
    /opencode-sessions: malformed event: expected a permission or question event/,
  )
})

test("opencode-v1 events of unexpected shapes are refused naming the missing field, or ignored, and change nothing", () => {
  const engine = parsing(new RelayEngine())
  const refused = []
  const fed = []
  const { read } = createEventReader(
    (feed) => fed.push(feed(engine, 0)),
    (detail) => refused.push(detail),
  )
  const known = [
    [{ type: "session.idle" }, "session.idle without properties.sessionID"],
    [{ type: "session.idle", properties: null }, "session.idle without properties.sessionID"],
    [{ type: "session.idle", properties: { sessionID: 5 } }, "session.idle without properties.sessionID"],
    [{ type: "session.idle", properties: { sessionID: "" } }, "session.idle without properties.sessionID"],
    [{ type: "session.compacted", properties: { sessionID: ["s"] } }, "session.compacted without properties.sessionID"],
    [{ type: "session.deleted", properties: { info: "s" } }, "session.deleted without properties.info.id"],
    [{ type: "session.status", properties: { sessionID: "s" } }, "session.status without properties.status.type"],
    [{ type: "session.status", properties: { sessionID: "s", status: { type: 1 } } }, "session.status without properties.status.type"],
    [{ type: "session.status", properties: { sessionID: 7, status: { type: "idle" } } }, "session.status without properties.sessionID"],
  ]
  for (const [event, detail] of known) {
    refused.length = 0
    read(event)
    assert.deepEqual(refused, [detail], label(event))
  }
  assert.deepEqual(fed, [], "no refused event reached the engine")
  // Shapes the engine cannot act on but that are no error: OpenCode sends such events.
  const ignored = [
    { type: "message.part.delta", properties: { delta: 5n } },
    { type: "session.error" },
    { type: "session.error", properties: { sessionID: 5, error: "boom" } },
    { type: "message.updated", properties: { info: { role: "assistant", sessionID: 5, time: { completed: 1 } } } },
    { type: "message.updated", properties: { info: { role: "assistant", sessionID: "s", time: { completed: "x" } } } },
    { type: "message.updated", properties: null },
  ]
  refused.length = 0
  for (const event of ignored) assert.doesNotThrow(() => read(event), label(event))
  assert.deepEqual(refused, [])
  assert.deepEqual(fed, [null, null], "only the two errors of no session crossed, and changed nothing")

  // Only the fields the engine needs are read: what else an event holds is never walked.
  let deep = { sessionID: "s" }
  for (let i = 0; i < 10_000; i++) deep = { nested: deep }
  read({ type: "session.idle", properties: deep })
  assert.deepEqual(refused, ["session.idle without properties.sessionID"])
  fed.length = 0
  const cyclic = { type: "session.idle", properties: { sessionID: "s" } }
  cyclic.properties.self = cyclic
  const started = Date.now()
  for (const event of [
    cyclic,
    { type: "session.idle", properties: { sessionID: "s", junk: new Array(1_100_000).fill(0) } },
    { type: "session.idle", properties: { sessionID: "s", f() {}, symbol: Symbol("x"), big: 5n } },
  ]) {
    read(event)
  }
  assert.ok(Date.now() - started < 1_000, "an event full of junk is read at once")
  assert.deepEqual(fed, [null, null, null], "each was read as the idle edge of session s, which changes nothing there")
  assert.equal(engine.isEmpty, true, "nothing was accepted")
  relayStillWorks(engine)
})

test("engine: outcomes of unexpected shapes are refused, and the request still waits for a real one", () => {
  const engine = parsing(new RelayEngine())
  const [list] = engine.toolCall(0, call()).drain.actions
  const shapes = [
    [null, "invalid type: null, expected internally tagged enum Outcome"],
    ["done", 'invalid type: string "done", expected internally tagged enum Outcome'],
    [{}, "missing field `type`"],
    [{ type: "perhaps" }, "unknown variant `perhaps`, expected one of `done`, `agents`, `session`, `answer`, `model`, `failed`"],
    [{ type: "agents", agents: "build" }, 'invalid type: string "build", expected a sequence'],
    [{ type: "agents", agents: [{ mode: "primary" }] }, "missing field `name`"],
    [
      { type: "timedOut", message: "x" },
      "unknown variant `timedOut`, expected one of `done`, `agents`, `session`, `answer`, `model`, `failed`",
    ],
  ]
  for (const [outcome, detail] of shapes) refuses(() => engine.outcome(1, list.id, outcome), `malformed outcome: ${detail}`, label(outcome))
  refuses(() => engine.outcome(1, list.id, undefined), "malformed outcome: expected an object, got undefined")
  // The request is still open: a real answer goes on with the call.
  const answered = engine.outcome(1, list.id, { type: "agents", agents: [{ name: "build", mode: "primary" }] })
  assert.ok(answered.actions.some((a) => a.type === "request" && a.request.op === "askPermission"))
  relayStillWorks(engine)
})

test("engine: a getter that calls the engine while it reads an outcome is refused, and the engine goes on", () => {
  const engine = parsing(new RelayEngine())
  const bound = engine.inputs()
  const [list] = engine.toolCall(0, call()).drain.actions
  const inner = []
  const sly = {
    type: "agents",
    get agents() {
      for (const reenter of [
        () => engine.status(1, "ses_1", true),
        () => engine.idle(1, "ses_1"),
        () => engine.timeout(1),
        () => bound.status(1, "ses_1", true),
        () => bound.timeout(1),
      ]) {
        try {
          reenter()
          inner.push("ran")
        } catch (error) {
          inner.push(error.message)
        }
      }
      return [{ name: "build", mode: "primary" }]
    },
  }
  engine.outcome(1, list.id, sly)
  assert.ok(inner.length >= 5)
  for (const message of inner) assert.match(message, /called while one of its methods was running/)
  relayStillWorks(engine)
})

async function setup() {
  const fake = fakeClient()
  const directory = isolatedProject()
  const hooks = await createPlugin({ client: fake.client, directory, worktree: directory })
  const execute = (args, ctx = toolContext()) => hooks.tool.session.execute(args, ctx)
  const event = async (e) => {
    await hooks.event({ event: e })
    await settle()
  }
  const logged = (level) =>
    fake
      .of("app.log")
      .filter((c) => c.options.body.level === level)
      .map((c) => c.options.body.message)
  /** A message relay end to end: queued, then prompted when the turn ends. */
  const stillWorks = async (text = "still working") => {
    const before = fake.of("session.promptAsync").length
    await event(status("ses_ok", "busy"))
    const reply = await execute({ mode: "message", text, agent: "plan" }, toolContext("ses_ok"))
    assert.match(reply, /^Queued as relay #\d+ for plan:/)
    await event(status("ses_ok", "idle"))
    const prompts = fake.of("session.promptAsync").slice(before)
    assert.equal(prompts.length, 1)
    return prompts[0].options.body.parts[0].text
  }
  return { fake, hooks, execute, event, logged, stillWorks }
}

test("plugin tool: arguments of every wrong type reject the call with the field to fix", async () => {
  const { fake, execute, stillWorks } = await setup()
  const rejects = (args, message, ctx) => assert.rejects(execute(args, ctx), { message: PREFIX + message }, label(args))
  for (const args of [undefined, null, 5, "fork", true, [], {}]) await rejects(args, `\`mode\` is missing: ${MODES}`)
  await rejects({ mode: 5, text: "x" }, '`mode` must be one of "message", "new", "compact", "fork", "status", "cancel", got the number 5')
  await rejects(
    { mode: ["fork"], text: "x" },
    '`mode` must be one of "message", "new", "compact", "fork", "status", "cancel", got a list ["fork"]',
  )
  await rejects({ mode: "fork", text: { body: "x" } }, '`text` must be a string, got an object {"body":"x"}')
  await rejects({ mode: "fork", text: ["a", "b"] }, '`text` must be a string, got a list ["a","b"]')
  await rejects({ mode: "fork", text: 12n }, "`text` must be a string, got the number 12")
  await rejects({ mode: "fork", text: false }, "`text` must be a string, got false")
  await rejects({ mode: "fork", text: "x", agent: 0 }, "`agent` must be the name of a primary agent, or left out, got the number 0")
  await rejects({ mode: "fork", text: "x", agent: true }, "`agent` must be the name of a primary agent, or left out, got true")
  await rejects({ mode: "cancel", session: 7 }, "`session` must be a branch's session id, or left out, got the number 7")
  await rejects({ mode: "cancel" }, "`session` is missing: cancel stops a branch of this session, so name it by its id (see status)")
  await rejects(
    { mode: "fork", text: "x", session: "ses_1" },
    '`session` is not taken by mode "fork": only message (to follow up a branch) and cancel name a branch; leave it out',
  )
  await rejects(
    { mode: "fork", text: "x", agent: Symbol("a") },
    "malformed tool call: JS symbols cannot be represented as a serde_json::Value",
  )
  await rejects({ mode: "FORK", text: "x" }, `unknown mode "FORK" (did you mean "fork"?): ${MODES}`)
  await rejects({ mode: "fork\u0000", text: "x" }, `unknown mode "fork\\0" (did you mean "fork"?): ${MODES}`)
  // A context without the fields OpenCode always passes.
  await rejects(
    { mode: "fork", text: "x" },
    "`sessionId` is missing or empty: OpenCode passes it with every tool call, so the host must forward it",
    null,
  )
  await rejects(
    { mode: "fork", text: "x" },
    "`callerAgent` is missing or empty: OpenCode passes it with every tool call, so the host must forward it",
    { sessionID: "s", messageID: "m" },
  )
  assert.equal(fake.calls.filter((c) => c.name.startsWith("session.")).length, 0, "nothing reached OpenCode")
  assert.equal(await stillWorks(), "still working")
})

test("plugin tool: agent names with path or shell characters are checked against the agent list and never sent", async () => {
  const { fake, execute, stillWorks } = await setup()
  const names = [
    "../../etc/passwd",
    "plan; rm -rf /",
    "$(id)",
    "`id`",
    "plan\nbuild",
    "plan/../build",
    "%2e%2e%2f",
    "plan\u202Eevil",
    "\uD800",
  ]
  const shown = [
    '"../../etc/passwd"',
    '"plan; rm -rf /"',
    '"$(id)"',
    '"`id`"',
    '"plan\\nbuild"',
    '"plan/../build"',
    '"%2e%2e%2f"',
    '"plan\\u{202e}evil"',
    '"\uFFFD"',
  ]
  for (const [i, agent] of names.entries()) {
    await assert.rejects(execute({ mode: "new", text: "x", agent }), {
      message: `Agent ${shown[i]} is not an agent of this project. Agents that can answer: build, plan. Nothing was sent.`,
    })
  }
  await assert.rejects(execute({ mode: "new", text: "x", agent: "a".repeat(5000) }), {
    message: `${PREFIX}\`agent\` is 5000 characters long, longer than any agent name (at most 128): name a primary agent such as build or plan, or leave \`agent\` out to answer yourself`,
  })
  // Only the agent list was asked for: no session was created, prompted or forked.
  assert.deepEqual(
    [...new Set(fake.calls.map((c) => c.name))].filter((n) => n !== "app.log" && n !== "tui.showToast"),
    ["app.agents"],
  )
  // Surrounding whitespace of a real name is forgiven.
  assert.match(await execute({ mode: "new", text: "x", agent: " plan\n" }), /plan is answering there now/)
  assert.equal(await stillWorks(), "still working")
})

test("plugin tool: 1 MB of text is relayed whole, 16 MB is refused naming the limit", async () => {
  const { fake, execute, stillWorks } = await setup()
  const megabyte = "m".repeat(1_000_000)
  assert.equal(await stillWorks(megabyte), megabyte)
  await assert.rejects(execute({ mode: "fork", text: "x".repeat(16 * MAX_TEXT_BYTES) }), {
    message: `${PREFIX}\`text\` is ${16 * MAX_TEXT_BYTES} bytes long, ${TEXT_LIMIT}`,
  })
  assert.equal(fake.of("session.fork").length, 0)
})

test("plugin tool: lone surrogates arrive as U+FFFD; control and bidi characters reach the prompt but not the title", async () => {
  const { fake, execute, stillWorks } = await setup()
  // JS strings are UTF-16; crossing into Rust they become UTF-8, and a lone
  // surrogate, which UTF-8 cannot hold, becomes the replacement character.
  assert.equal(await stillWorks("a\uD800b\uDC00c\uDBFF"), "a\uFFFDb\uFFFDc\uFFFD")
  // A valid pair is one character and survives.
  assert.equal(await stillWorks("emoji \uD83D\uDE00"), "emoji 😀")
  const garbled = "\u001b[31mred\u0007 \u202Egnp.exe\u0000 done\nsecond line"
  assert.equal(await stillWorks(garbled), garbled, "the text itself is relayed as written")
  await execute({ mode: "new", text: garbled, agent: "plan" })
  const [created] = fake.of("session.create")
  assert.equal(created.options.body.title, "new · plan · [31mred gnp.exe done")
})

test("plugin hooks: events, chat messages and definitions of unexpected shapes are ignored or logged, never thrown", async () => {
  const { hooks, event, logged, stillWorks } = await setup()
  for (const input of [
    undefined,
    null,
    5,
    "session.idle",
    [],
    {},
    { event: null },
    { event: "session.idle" },
    { event: [] },
    { event: { type: 5 } },
  ]) {
    await assert.doesNotReject(hooks.event(input), label(input))
  }
  const errorsBefore = logged("error").length
  await event({ type: "session.idle", properties: { sessionID: 5 } })
  await event({ type: "session.status", properties: null })
  await event({ type: "session.deleted", properties: { info: { id: ["s"] } } })
  let deep = { sessionID: "s" }
  for (let i = 0; i < 10_000; i++) deep = { nested: deep }
  await event({ type: "session.compacted", properties: deep })
  assert.deepEqual(logged("error").slice(errorsBefore), [
    `${PREFIX}malformed event: session.idle without properties.sessionID`,
    `${PREFIX}malformed event: session.status without properties.status.type`,
    `${PREFIX}malformed event: session.deleted without properties.info.id`,
    // Only the field the engine needs is read, not the 10,000 levels around it.
    `${PREFIX}malformed event: session.compacted without properties.sessionID`,
  ])
  // A message.updated that is not a completed assistant message stays in JS.
  await event({ type: "message.updated", properties: { info: { role: "assistant", sessionID: 5, time: { completed: "x" } } } })
  await event({ type: "message.updated", properties: "info" })

  for (const [message, output] of [
    [undefined, undefined],
    [null, null],
    [{ sessionID: 5 }, { parts: [] }],
    [{ sessionID: ["s"] }, {}],
    [{ sessionID: "ses_x" }, { parts: "not a list" }],
    [{ sessionID: "ses_x" }, { parts: [null, 5, { metadata: null }] }],
    ["ses_x", {}],
  ]) {
    await assert.doesNotReject(hooks["chat.message"](message, output), label(message))
  }
  for (const [input, output] of [
    [undefined, undefined],
    [null, null],
    [{ toolID: "session" }, null],
    [{ toolID: "session" }, { jsonSchema: "schema" }],
    [{ toolID: "session" }, { jsonSchema: 5 }],
    [{ toolID: 5 }, { jsonSchema: {} }],
  ]) {
    await assert.doesNotReject(hooks["tool.definition"](input, output), label([input, output]))
  }
  assert.equal(logged("error").length, errorsBefore + 4, "nothing else was logged as an error")
  assert.equal(await stillWorks(), "still working")
})
