// Hostile input at the boundary: every argument of the binding and every
// plugin hook fed values of the wrong type and shape, out-of-range numbers,
// huge and garbled text. Each is refused with an error naming what is wrong,
// or ignored; nothing crashes, and the engine goes on working afterwards.

import assert from "node:assert/strict"
import { test } from "node:test"
import { RelayEngine } from "../index.js"
import { createPlugin } from "../lib/plugin.js"
import { fakeClient, idleEvent, isolatedProject, settle, status, toolCallInput, toolContext } from "./fake-client.mjs"

const PREFIX = "opencode-sessions: "
const MODES = "use one of message, new, compact, fork, status"
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
  engine.pollActions()
  const callId = engine.handleToolCall(now, call({ sessionId, agent: "plan", text: "still working" }))
  const list = engine.pollActions().find((a) => a.type === "request" && a.request.op === "listAgents")
  assert.ok(list, "the call asks for the agent list")
  engine.handleOutcome(++now, list.id, {
    type: "agents",
    agents: [
      { name: "build", mode: "primary" },
      { name: "plan", mode: "primary" },
    ],
  })
  const ask = engine.pollActions().find((a) => a.type === "request" && a.request.op === "askPermission")
  engine.handleOutcome(++now, ask.id, { type: "done" })
  const reply = engine.pollActions().find((a) => a.type === "replyToTool" && a.call === callId)
  assert.equal(reply.ok, true, reply.text)
  engine.handleEvent(++now, { type: "session.status", properties: { sessionID: sessionId, status: { type: "idle" } } })
  const prompt = engine.pollActions().find((a) => a.type === "request" && a.request.op === "prompt")
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

test("engine: options of the wrong type are refused, naming what was expected", () => {
  for (const [options, kind] of [
    [5, "a number"],
    ["maxHops", "a string"],
    [[], "a list"],
    [true, "a boolean"],
    [5n, "a number"],
  ]) {
    refuses(() => new RelayEngine(options), `invalid options: expected an object like { "maxHops": 8 }, got ${kind}`)
  }
  refuses(() => new RelayEngine(Symbol("o")), "malformed options: JS symbols cannot be represented as a serde_json::Value")
  refuses(() => new RelayEngine({ maxHops: () => 1 }), "malformed options: JS functions cannot be represented as a serde_json::Value")
  refuses(() => new RelayEngine({ maxHops: NaN }), "malformed options: holds a number that is NaN or infinite, which JSON cannot represent")
  refuses(
    () => new RelayEngine({ maxHops: 2 ** 53 }),
    'invalid option "maxHops": must be a whole number from 1 to 1000, got 9007199254740992.0',
  )
  refuses(
    () => new RelayEngine({ agents: ["../../etc/passwd", 5] }),
    'invalid option "agents": must be a non-empty list of names, got ["../../etc/passwd",5]',
  )
  assert.deepEqual(new RelayEngine(undefined).enabledModes(), ["message", "new", "compact", "fork", "status"])
  assert.deepEqual(new RelayEngine(null).enabledModes(), ["message", "new", "compact", "fork", "status"])
})

test("engine: nowMs and ids that are not whole numbers from 0 to 2^53 - 1 are refused", () => {
  const engine = new RelayEngine()
  for (const [value, kind] of NOT_A_NUMBER) {
    refuses(() => engine.handleToolCall(value, call()), `malformed nowMs: expected a whole number, got ${kind}`)
    refuses(() => engine.handleEvent(value, idleEvent("s")), `malformed nowMs: expected a whole number, got ${kind}`)
    refuses(() => engine.handleTimeout(value), `malformed nowMs: expected a whole number, got ${kind}`)
    refuses(() => engine.handleOutcome(0, value, { type: "done" }), `malformed action id: expected a whole number, got ${kind}`)
  }
  for (const [value, shown] of BAD_NUMBERS) {
    const expected = `expected a whole number from 0 to 2^53 - 1, got ${shown}`
    refuses(() => engine.handleToolCall(value, call()), `malformed nowMs: ${expected}`)
    refuses(() => engine.handleEvent(value, idleEvent("s")), `malformed nowMs: ${expected}`)
    refuses(() => engine.handleTimeout(value), `malformed nowMs: ${expected}`)
    refuses(() => engine.handleOutcome(0, value, { type: "done" }), `malformed action id: ${expected}`)
  }
  // The largest exact integer is accepted; an id nobody waits for is answered false.
  assert.equal(engine.handleOutcome(2 ** 53 - 1, 2 ** 53 - 1, { type: "done" }), false)
  assert.equal(engine.isEmpty, true, "nothing was accepted")
  relayStillWorks(engine)
})

test("engine: string and boolean arguments of the wrong type are refused, naming the argument", () => {
  const engine = new RelayEngine()
  for (const [value, kind] of NOT_A_STRING) {
    refuses(() => engine.handleUserMessage(value, false), `malformed sessionId: expected a string, got ${kind}`)
    refuses(() => engine.pendingRelays(value), `malformed sessionId: expected a string, got ${kind}`)
    refuses(() => engine.hops(value), `malformed sessionId: expected a string, got ${kind}`)
  }
  for (const [value, kind] of [
    [undefined, "undefined"],
    [1, "a number"],
    ["true", "a string"],
    [null, "null"],
  ]) {
    refuses(() => engine.handleUserMessage("ses_1", value), `malformed fromPlugin: expected true or false, got ${kind}`)
  }
  relayStillWorks(engine)
})

test("engine: a tool call that is not an object is refused", () => {
  const engine = new RelayEngine()
  const expected = "malformed tool call: expected an object {sessionId, messageId, callerAgent, mode, text, agent?}, got"
  for (const [value, kind] of [
    [null, "null"],
    [5, "a number"],
    ["fork", "a string"],
    [[call()], "a list"],
    [true, "a boolean"],
    [5n, "a number"],
  ]) {
    refuses(() => engine.handleToolCall(0, value), `${expected} ${kind}`)
  }
  refuses(() => engine.handleToolCall(0, undefined), "malformed tool call: expected an object, got undefined")
  refuses(() => engine.handleToolCall(0, Symbol("c")), "malformed tool call: JS symbols cannot be represented as a serde_json::Value")
  refuses(() => engine.handleToolCall(0, () => call()), "malformed tool call: JS functions cannot be represented as a serde_json::Value")
  const cyclic = call()
  cyclic.self = cyclic
  refuses(() => engine.handleToolCall(0, cyclic), "malformed tool call: Exceeded maximum JSON nesting depth")
  relayStillWorks(engine)
})

test("engine: each field of a tool call of the wrong type is refused, naming the field and what it got", () => {
  const engine = new RelayEngine()
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
    mode: 'one of "message", "new", "compact", "fork", "status"',
    text: "a string",
    agent: "the name of a primary agent, or left out",
  }
  for (const [field, wanted] of Object.entries(expected)) {
    for (const [value, got] of wrong) {
      refuses(
        () => engine.handleToolCall(0, call({ [field]: value })),
        `\`${field}\` must be ${wanted}, got ${got}`,
        `${field} = ${String(value)}`,
      )
    }
    refuses(
      () => engine.handleToolCall(0, call({ [field]: NaN })),
      "malformed tool call: holds a number that is NaN or infinite, which JSON cannot represent",
    )
    refuses(
      () => engine.handleToolCall(0, call({ [field]: Symbol("x") })),
      "malformed tool call: JS symbols cannot be represented as a serde_json::Value",
    )
  }
  relayStillWorks(engine)
})

test("engine: missing fields are refused with what to do; a missing agent or text for status is fine", () => {
  const engine = new RelayEngine()
  for (const field of ["sessionId", "messageId", "callerAgent"]) {
    const message = `\`${field}\` is missing or empty: OpenCode passes it with every tool call, so the host must forward it`
    for (const value of [undefined, null, "", "  \n"]) refuses(() => engine.handleToolCall(0, call({ [field]: value })), message)
  }
  for (const value of [undefined, null]) refuses(() => engine.handleToolCall(0, call({ mode: value })), `\`mode\` is missing: ${MODES}`)
  for (const value of [undefined, null, "", " \t\n "]) {
    refuses(() => engine.handleToolCall(0, call({ text: value })), "`text` is empty: write what the receiving agent should do")
  }
  refuses(() => engine.handleToolCall(0, {}), `\`mode\` is missing: ${MODES}`)
  assert.equal(engine.isEmpty, true, "nothing was accepted")
  // Left out: agent means the caller; status needs no text. Both are taken.
  assert.equal(typeof engine.handleToolCall(0, call({ agent: undefined })), "number")
  assert.equal(typeof engine.handleToolCall(0, call({ mode: "status", text: undefined })), "number")
  relayStillWorks(engine)
})

test("engine: unknown and oddly written modes are refused, quoted escaped, with a hint", () => {
  const engine = new RelayEngine()
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
  for (const [mode, shown] of cases) refuses(() => engine.handleToolCall(0, call({ mode })), `unknown mode ${shown}: ${MODES}`)
  // Surrounding whitespace is forgiven.
  for (const mode of [" fork ", "fork\n", "\tstatus"]) assert.equal(typeof engine.handleToolCall(0, call({ mode })), "number", label(mode))
  relayStillWorks(engine)
})

test("engine: text up to 1 MiB is taken, larger text is refused naming the limit", () => {
  const engine = new RelayEngine()
  const megabyte = "x".repeat(1_000_000)
  const id = engine.handleToolCall(0, call({ mode: "new", text: megabyte }))
  assert.equal(typeof id, "number")
  assert.equal(typeof engine.handleToolCall(0, call({ mode: "new", text: "y".repeat(MAX_TEXT_BYTES) })), "number")
  // Counted in bytes of UTF-8: 2 bytes for each "é".
  refuses(
    () => engine.handleToolCall(0, call({ text: "é".repeat(MAX_TEXT_BYTES / 2 + 1) })),
    `\`text\` is ${MAX_TEXT_BYTES + 2} bytes long, ${TEXT_LIMIT}`,
  )
  const started = Date.now()
  refuses(
    () => engine.handleToolCall(0, call({ text: "z".repeat(16 * MAX_TEXT_BYTES) })),
    `\`text\` is ${16 * MAX_TEXT_BYTES} bytes long, ${TEXT_LIMIT}`,
  )
  assert.ok(Date.now() - started < 2_000, "a 16 MiB text is refused quickly")
  relayStillWorks(engine)
})

test("engine: agent names over 128 characters are refused; odd ones are checked against the agent list", () => {
  const engine = new RelayEngine()
  refuses(
    () => engine.handleToolCall(0, call({ agent: "p".repeat(129) })),
    "`agent` is 129 characters long, longer than any agent name (at most 128): name a primary agent such as build or plan, or leave `agent` out to answer yourself",
  )
  refuses(
    () => engine.handleToolCall(0, call({ agent: "p".repeat(1_000_000) })),
    "`agent` is 1000000 characters long, longer than any agent name (at most 128): name a primary agent such as build or plan, or leave `agent` out to answer yourself",
  )
  relayStillWorks(engine)
})

test("engine: events of unexpected shapes are refused or reported irrelevant, and change nothing", () => {
  const engine = new RelayEngine()
  for (const event of [null, "session.idle", [], [idleEvent("s")], 5, true, {}, { type: 5 }, { type: null }, { type: ["session.idle"] }]) {
    refuses(() => engine.handleEvent(0, event), "malformed event: no string `type`", label(event))
  }
  refuses(() => engine.handleEvent(0, undefined), "malformed event: expected an object, got undefined")
  refuses(() => engine.handleEvent(0, Symbol("e")), "malformed event: JS symbols cannot be represented as a serde_json::Value")
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
  for (const [event, detail] of known) refuses(() => engine.handleEvent(0, event), `malformed event: ${detail}`, label(event))
  // Shapes the engine cannot act on but that are no error: OpenCode sends such events.
  const ignored = [
    { type: "message.part.delta", properties: { delta: 5n } },
    { type: "session.error" },
    { type: "session.error", properties: { sessionID: 5, error: "boom" } },
    { type: "message.updated", properties: { info: { role: "assistant", sessionID: 5, time: { completed: 1 } } } },
    { type: "message.updated", properties: null },
  ]
  for (const event of ignored) assert.doesNotThrow(() => engine.handleEvent(0, event), label(event))
  assert.deepEqual(engine.pollActions(), [])

  let deep = { sessionID: "s" }
  for (let i = 0; i < 10_000; i++) deep = { nested: deep }
  refuses(() => engine.handleEvent(0, { type: "session.idle", properties: deep }), "malformed event: Exceeded maximum JSON nesting depth")
  const cyclic = { type: "session.idle", properties: { sessionID: "s" } }
  cyclic.properties.self = cyclic
  refuses(() => engine.handleEvent(0, cyclic), "malformed event: Exceeded maximum JSON nesting depth")
  const wide = { type: "session.idle", properties: { sessionID: "s", junk: new Array(1_100_000).fill(0) } }
  refuses(() => engine.handleEvent(0, wide), "malformed event: Exceeded maximum JSON value count")
  refuses(
    () => engine.handleEvent(0, { type: "session.idle", properties: { sessionID: "s", f() {} } }),
    "malformed event: JS functions cannot be represented as a serde_json::Value",
  )
  assert.equal(engine.isEmpty, true, "nothing was accepted")
  relayStillWorks(engine)
})

test("engine: outcomes of unexpected shapes are refused, and the request still waits for a real one", () => {
  const engine = new RelayEngine()
  engine.handleToolCall(0, call())
  const [list] = engine.pollActions()
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
  for (const [outcome, detail] of shapes)
    refuses(() => engine.handleOutcome(1, list.id, outcome), `malformed outcome: ${detail}`, label(outcome))
  refuses(() => engine.handleOutcome(1, list.id, undefined), "malformed outcome: expected an object, got undefined")
  // The request is still open: a real answer goes on with the call.
  assert.equal(engine.handleOutcome(1, list.id, { type: "agents", agents: [{ name: "build", mode: "primary" }] }), true)
  assert.ok(engine.pollActions().some((a) => a.type === "request" && a.request.op === "askPermission"))
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
  await rejects({ mode: 5, text: "x" }, '`mode` must be one of "message", "new", "compact", "fork", "status", got the number 5')
  await rejects({ mode: ["fork"], text: "x" }, '`mode` must be one of "message", "new", "compact", "fork", "status", got a list ["fork"]')
  await rejects({ mode: "fork", text: { body: "x" } }, '`text` must be a string, got an object {"body":"x"}')
  await rejects({ mode: "fork", text: ["a", "b"] }, '`text` must be a string, got a list ["a","b"]')
  await rejects({ mode: "fork", text: 12n }, "`text` must be a string, got the number 12")
  await rejects({ mode: "fork", text: false }, "`text` must be a string, got false")
  await rejects({ mode: "fork", text: "x", agent: 0 }, "`agent` must be the name of a primary agent, or left out, got the number 0")
  await rejects({ mode: "fork", text: "x", agent: true }, "`agent` must be the name of a primary agent, or left out, got true")
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
    `${PREFIX}malformed event: Exceeded maximum JSON nesting depth`,
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
