import assert from "node:assert/strict"
import { test } from "node:test"
import { modes, optionNames, RelayEngine, relevantEventTypes } from "../index.js"
import { parseDrain } from "../lib/driver.js"
import { INPUT_METHODS, parsing, toolCallInput } from "./fake-client.mjs"

const call = toolCallInput

test("the binding lists the event types worth crossing into native code", () => {
  assert.deepEqual(relevantEventTypes().sort(), [
    "message.part.updated",
    "message.updated",
    "permission.asked",
    "permission.replied",
    "permission.updated",
    "question.asked",
    "question.rejected",
    "question.replied",
    "session.compacted",
    "session.deleted",
    "session.error",
    "session.idle",
    "session.status",
  ])
})

test("the modes and option names come from the engine, and the options type names every option", () => {
  assert.deepEqual(modes(), ["message", "new", "compact", "fork", "status", "cancel"])
  assert.deepEqual(optionNames(), [
    "maxHops",
    "maxBranches",
    "modes",
    "agents",
    "switchTo",
    "report",
    "resumeParent",
    "requestTimeoutMs",
    "summarizeTimeoutMs",
    "permissionTimeoutMs",
  ])
  // The effective options are built from the engine's settings field by field.
  const engine = parsing(new RelayEngine({ agents: ["plan"], switchTo: ["fork"], requestTimeoutMs: 2000 }))
  assert.deepEqual(Object.keys(engine.options), optionNames())
  assert.deepEqual(engine.options, {
    maxHops: 8,
    maxBranches: 4,
    modes: ["message", "new", "compact", "fork"],
    agents: ["plan"],
    switchTo: ["fork"],
    report: "each",
    resumeParent: false,
    requestTimeoutMs: 2000,
    summarizeTimeoutMs: 600000,
    permissionTimeoutMs: 3600000,
  })
})

test("a tool call asks for the agent list first, with its time limit", () => {
  const engine = parsing(new RelayEngine({ requestTimeoutMs: 2000 }))
  const started = engine.toolCall(100, call())
  assert.equal(typeof started.call, "number")
  assert.deepEqual(started.drain, {
    actions: [{ type: "request", id: 2, timeoutMs: 2000, request: { op: "listAgents" } }],
    timeoutAt: 2100,
    journal: null,
  })
  assert.equal(engine.isQuiet, false)
})

test("a message relay goes through the binding as plain JSON, once", () => {
  const engine = parsing(new RelayEngine())
  const { call: callId, drain: first } = engine.toolCall(0, call({ agent: "plan" }))
  const [list] = first.actions
  const asked = engine.outcome(1, list.id, { type: "agents", agents: [{ name: "plan", mode: "primary" }] })
  const [ask] = asked.actions.filter((a) => a.type === "request")
  assert.deepEqual(ask.request, { op: "askPermission", call: callId, pattern: "message → plan" })
  const allowed = engine.outcome(1, ask.id, { type: "done" })
  const reply = allowed.actions.find((a) => a.type === "replyToTool")
  assert.equal(reply.call, callId)
  assert.equal(reply.ok, true)
  assert.equal(allowed.timeoutAt, null, "nothing is in flight while the relay waits for the turn to end")
  assert.deepEqual(allowed.journal, [
    { sessionId: "ses_1", relay: allowed.journal[0].relay, mode: "message", callerAgent: "build", agent: "plan", text: "review this" },
  ])
  assert.equal(engine.pendingRelays("ses_1"), 1)
  assert.deepEqual(engine.stats(), {
    relaysPending: 1,
    toolCallsPending: 0,
    requestsInFlight: 0,
    branchesRunning: 0,
    sessionsRemembered: 1,
  })

  const idle = engine.status(2, "ses_1", false)
  const sent = idle.actions.filter((a) => a.type === "request")
  assert.deepEqual(
    sent.map((a) => a.request),
    [{ op: "prompt", sessionId: "ses_1", agent: "plan", parts: ["review this"] }],
  )
  assert.deepEqual(idle.journal, [], "a relay whose prompt went out is no longer pending on disk")
  assert.equal(idle.timeoutAt, 2 + 15_000)
  assert.equal(engine.idle(3, "ses_1"), null, "the second idle edge changes nothing")
  engine.outcome(4, sent[0].id, { type: "done" })
  engine.deleted(5, "ses_1")
  assert.equal(engine.stats().sessionsRemembered, 0)
  assert.equal(engine.isEmpty, true)
})

test("an input's drain has one action per line, so the driver can run each before reading the next", () => {
  const engine = new RelayEngine()
  const { drain } = JSON.parse(engine.toolCall(0, call({ agent: "plan" })))
  const asked = JSON.parse(engine.outcome(1, drain.actions[0].id, { type: "agents", agents: [{ name: "plan", mode: "primary" }] }))
  engine.outcome(1, asked.actions.find((a) => a.type === "request").id, { type: "done" })
  // The idle edge sends the prompt, then says so (a notice, a log line).
  const text = engine.status(2, "ses_1", false)
  const lines = text.split("\n")
  const whole = JSON.parse(text)
  assert.ok(whole.actions.length >= 2)
  assert.equal(lines[0], '{"actions":[')
  assert.deepEqual(
    lines.slice(1, -1).map((line, at) => JSON.parse(at === 0 ? line : line.replace(/^,/, ""))),
    whole.actions,
  )
  assert.deepEqual(JSON.parse(`{${lines.at(-1).slice(2)}`), { timeoutAt: whole.timeoutAt, journal: whole.journal })
})

test("an engine told to write compact lines gives the same actions, whatever the prompt's text holds", () => {
  // The idle edge that sends the prompt, and the one after its answer, which says it was delivered.
  const idleEdges = (compact, text) => {
    const engine = new RelayEngine()
    engine.compactActions(compact)
    const { drain } = JSON.parse(engine.toolCall(0, call({ agent: "plan", text })))
    const asked = JSON.parse(engine.outcome(1, drain.actions[0].id, { type: "agents", agents: [{ name: "plan", mode: "primary" }] }))
    engine.outcome(1, asked.actions.find((a) => a.type === "request").id, { type: "done" })
    const sent = engine.status(2, "ses_1", false)
    engine.outcome(3, (compact ? parseDrain(sent) : JSON.parse(sent)).actions[0].id, { type: "done" })
    engine.status(4, "ses_1", true)
    return [sent, engine.status(5, "ses_1", false)]
  }
  for (const text of [
    "review this",
    "line one\nline two, 3:4\n",
    "→ naïve 🦀 ,P1,2:",
    'é "quoted" \\ back\tslash\u0001\u007f',
    "x".repeat(70_000),
  ]) {
    const json = idleEdges(false, text)
    const compact = idleEdges(true, text)
    assert.match(compact[0].split("\n")[1], /^P\d+,/)
    // A log line beyond ASCII is a compact line too, its text escaped: every drain is ASCII.
    assert.match(compact[0], /\n,?L4:info\d+;"relay #\d+ starting in ses_1: message \\u2192 plan"\n/)
    assert.match(compact[1], /\n,?L4:info\d+:relay #\d+ delivered/)
    for (const drain of [...compact, ...json])
      assert.equal(Buffer.from(drain, "latin1").toString("ascii"), drain, "ASCII: no character above 127")
    assert.deepEqual(
      compact.map(parseDrain),
      json.map((drain) => JSON.parse(drain)),
    )
    assert.equal(parseDrain(compact[0]).actions[0].request.parts[0], text.trim())
  }
})

test("a compact line that breaks its grammar is refused, not misread", () => {
  const drain = (line) => `{"actions":[\n${line}\n],"timeoutAt":null,"journal":null}`
  assert.deepEqual(parseDrain(drain('P1,2,5:ses_14:plan1,8;"\\u00e9"')).actions[0].request.parts, ["é"])
  for (const line of ["P1;2,5:ses_14:plan1,1:x", "P1,2,5:ses_14:plan1,1x", "P,2,5:ses_14:plan1,1:x", "P1,2,5:ses_14:plan1;1:x"]) {
    assert.throws(() => parseDrain(drain(line)), /malformed engine output/, line)
  }
})

test("an engine told that nobody listens to notices leaves them out, and nothing else", () => {
  const idleEdge = (want) => {
    const engine = new RelayEngine()
    engine.wantNotices(want)
    const { drain } = JSON.parse(engine.toolCall(0, call({ agent: "plan" })))
    const asked = JSON.parse(engine.outcome(1, drain.actions[0].id, { type: "agents", agents: [{ name: "plan", mode: "primary" }] }))
    engine.outcome(1, asked.actions.find((a) => a.type === "request").id, { type: "done" })
    return JSON.parse(engine.status(2, "ses_1", false))
  }
  const all = idleEdge(true)
  assert.ok(all.actions.some((a) => a.type === "notice"))
  assert.deepEqual(idleEdge(false), { ...all, actions: all.actions.filter((a) => a.type !== "notice") })
})

test("the bound inputs are the engine's own input methods: the same drains, the same refusals, for that engine only", () => {
  // A relay through the idle edge and its answer, fed through `inputs` or the methods.
  const relay = (bound) => {
    const engine = new RelayEngine()
    const feed = bound ? engine.inputs() : engine
    const started = feed.toolCall(0, call({ agent: "plan" }))
    const { drain } = JSON.parse(started)
    const asked = feed.outcome(1, drain.actions[0].id, { type: "agents", agents: [{ name: "plan", mode: "primary" }] })
    feed.outcome(1, JSON.parse(asked).actions.find((a) => a.type === "request").id, { type: "done" })
    const texts = [started, asked, feed.status(2, "ses_1", false)]
    texts.push(feed.outcome(3, JSON.parse(texts[2]).actions[0].id, { type: "done" }))
    texts.push(feed.status(4, "ses_1", true), feed.status(5, "ses_1", false), feed.idle(6, "ses_1"), feed.timeout(7))
    return { engine, feed, texts }
  }
  const bound = relay(true)
  assert.deepEqual(Object.keys(bound.feed).sort(), [...INPUT_METHODS].sort())
  assert.deepEqual(bound.texts, relay(false).texts)
  assert.ok(JSON.parse(bound.texts[2]).actions.some((a) => a.type === "request" && a.request.op === "prompt"))
  // Called without a receiver, or with another engine as one, a bound input feeds its own engine.
  const { status } = bound.feed
  const other = new RelayEngine()
  assert.equal(status.call(other, 8, "ses_2", true), null)
  assert.equal(bound.engine.stats().sessionsRemembered, 1)
  assert.equal(other.stats().sessionsRemembered, 0)
  // Wrong arguments are refused as the methods refuse them.
  for (const [name, args] of [
    ["status", [1, "", true]],
    ["idle", [-1, "ses_1"]],
    ["timeout", ["soon"]],
    ["userMessage", ["ses_1", "yes"]],
    ["toolState", [1, "ses_1", "prt_1", "bash", "running"]],
    ["outcome", [1, 99, { type: "perhaps" }]],
    ["toolCall", [1, [call()]]],
  ]) {
    let methodError
    try {
      other[name](...args)
    } catch (error) {
      methodError = error.message
    }
    assert.ok(methodError, name)
    assert.throws(() => bound.feed[name](...args), { message: methodError }, name)
  }
})

test("an input that changes nothing returns null", () => {
  const engine = parsing(new RelayEngine())
  assert.equal(engine.status(0, "ses_x", true), null)
  assert.equal(engine.status(1, "ses_x", false), null)
  assert.equal(engine.idle(2, "ses_x"), null)
  assert.equal(engine.compacted(3, "ses_x"), null)
  assert.equal(engine.stepFinished(4, "ses_x", "stop", null), null)
  assert.equal(engine.sessionError(5, null, "UnknownError", "boom"), null)
  assert.equal(engine.deleted(6, "ses_x"), null)
  assert.equal(engine.userMessage("ses_x", false), null)
  assert.equal(engine.timeout(7), null)
  assert.equal(engine.restored(8, []), null)
  assert.equal(engine.isEmpty, true)
})

test("bad input is refused with an error that says what is wrong", () => {
  const engine = parsing(new RelayEngine())
  assert.throws(() => engine.toolCall(0, call({ mode: "teleport" })), /unknown mode "teleport": use one of message, new, compact, fork/)
  assert.throws(() => engine.toolCall(0, call({ text: "  " })), /`text` is empty/)
  assert.throws(() => engine.toolCall(0, call({ sessionId: 1 })), /`sessionId` must be a string, got the number 1/)
  assert.throws(() => engine.toolCall(0, [call()]), /malformed tool call: expected an object/)
  assert.throws(() => engine.toolCall(-1, call()), /nowMs/)
  assert.throws(() => engine.outcome(0, 1, { type: "perhaps" }), /malformed outcome/)
  assert.throws(() => engine.idle(0, ""), /malformed sessionId: expected a non-empty string/)
  assert.throws(() => new RelayEngine({ requestTimeoutMs: 0 }), /requestTimeoutMs/)
  assert.equal(engine.isQuiet, true, "nothing was accepted")
})

test("an outcome that arrives after its time limit belongs to no attempt", () => {
  const engine = parsing(new RelayEngine({ requestTimeoutMs: 10 }))
  const {
    drain: {
      actions: [list],
    },
  } = engine.toolCall(0, call())
  const timedOut = engine.timeout(10)
  const [notice, warning] = timedOut.actions
  assert.deepEqual(notice, {
    type: "notice",
    notice: {
      kind: "retryScheduled",
      activity: "listingAgents",
      error: { kind: "timedOut", seconds: 1, activity: "listingAgents" },
      attempt: 2,
      attempts: 3,
      delayMs: 500,
    },
  })
  assert.equal(warning.level, "warn")
  assert.match(warning.message, /listing agents failed \(no answer after 1 s while listing agents\); attempt 2 of 3 in 500 ms/)
  assert.equal(timedOut.timeoutAt, 510, "the pause before the next attempt")
  const waiting = engine.stats()
  assert.equal(engine.outcome(11, list.id, { type: "done" }), null, "a late answer changes nothing")
  assert.deepEqual(engine.stats(), waiting)
  const [retry] = engine.timeout(510).actions
  assert.deepEqual(retry.request, { op: "listAgents" })
  assert.notEqual(retry.id, list.id, "each attempt has an id of its own")
  assert.equal(engine.outcome(511, list.id, { type: "done" }), null, "the first attempt's answer is stale")
  assert.deepEqual(engine.stats(), waiting)
  const answered = engine.outcome(512, retry.id, { type: "agents", agents: [] })
  assert.ok(
    answered.actions.some((a) => a.type === "replyToTool"),
    "the retry's answer is taken",
  )
  assert.equal(engine.stats().requestsInFlight, 0)
})

test("options are checked when the engine is made, naming what is wrong", () => {
  assert.throws(
    () => new RelayEngine({ requestTimeoutMs: 3e9 }),
    /invalid option "requestTimeoutMs": must be a whole number from 1 to 2147483647, got 3000000000/,
  )
  assert.throws(() => new RelayEngine({ maxhops: 3 }), /"maxhops": is not an option \(did you mean "maxHops"\?\)/)
  assert.throws(
    () => new RelayEngine({ modes: ["message", "merge"] }),
    /"modes": has "merge", which is not one of "message", "new", "compact", "fork"/,
  )
  assert.throws(() => new RelayEngine("fast"), /invalid options: expected an object/)
  assert.doesNotThrow(() => new RelayEngine({ summarizeTimeoutMs: 2 ** 31 - 1 }))
  assert.doesNotThrow(() => new RelayEngine(null))
})

test("the modes left on are listed in the tool's order, and hops reset when a person writes", () => {
  const engine = parsing(new RelayEngine({ modes: ["fork", "message"] }))
  assert.deepEqual(engine.enabledModes(), ["message", "fork", "status", "cancel"])
  assert.deepEqual(new RelayEngine({ modes: ["compact"] }).enabledModes(), ["compact"], "status only comes with branches")
  assert.equal(engine.hops("ses_1"), 0)
  engine.userMessage("ses_1", false)
  assert.equal(engine.isEmpty, true)
})
