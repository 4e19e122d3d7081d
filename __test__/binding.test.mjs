import assert from "node:assert/strict"
import { test } from "node:test"
import { RelayEngine, relevantEventTypes } from "../index.js"
import { toolCallInput } from "./fake-client.mjs"

const call = toolCallInput

test("the binding lists the event types worth crossing into native code", () => {
  assert.deepEqual(relevantEventTypes().sort(), [
    "message.updated",
    "session.compacted",
    "session.deleted",
    "session.error",
    "session.idle",
    "session.status",
  ])
})

test("a tool call asks for the agent list first, with its time limit", () => {
  const engine = new RelayEngine({ requestTimeoutMs: 2000 })
  const id = engine.handleToolCall(100, call())
  assert.equal(typeof id, "number")
  assert.deepEqual(engine.pollActions(), [{ type: "request", id: 2, timeoutMs: 2000, request: { op: "listAgents" } }])
  assert.equal(engine.pollTimeout(), 2100)
  assert.equal(engine.isQuiet, false)
})

test("a message relay goes through the binding as plain JSON, once", () => {
  const engine = new RelayEngine()
  const callId = engine.handleToolCall(0, call({ agent: "plan" }))
  const [list] = engine.pollActions()
  engine.handleOutcome(1, list.id, { type: "agents", agents: [{ name: "plan", mode: "primary" }] })
  const [ask] = engine.pollActions().filter((a) => a.type === "request")
  assert.deepEqual(ask.request, { op: "askPermission", call: callId, pattern: "message → plan" })
  engine.handleOutcome(1, ask.id, { type: "done" })
  const actions = engine.pollActions()
  const reply = actions.find((a) => a.type === "replyToTool")
  assert.equal(reply.call, callId)
  assert.equal(reply.ok, true)
  assert.equal(engine.pendingRelays("ses_1"), 1)
  assert.deepEqual(engine.stats(), {
    relaysPending: 1,
    toolCallsPending: 0,
    requestsInFlight: 0,
    branchesRunning: 0,
    sessionsRemembered: 1,
  })

  const idle = { type: "session.status", properties: { sessionID: "ses_1", status: { type: "idle" } } }
  assert.equal(engine.handleEvent(2, idle), true)
  const sent = engine.pollActions().filter((a) => a.type === "request")
  assert.deepEqual(
    sent.map((a) => a.request),
    [{ op: "prompt", sessionId: "ses_1", agent: "plan", parts: ["review this"] }],
  )
  engine.handleEvent(3, { type: "session.idle", properties: { sessionID: "ses_1" } })
  assert.deepEqual(engine.pollActions(), [])
  engine.handleEvent(4, { type: "session.deleted", properties: { info: { id: "ses_1" } } })
  engine.pollActions()
  assert.equal(engine.stats().sessionsRemembered, 0)
  assert.equal(engine.isEmpty, true)
})

test("bad input is refused with an error that says what is wrong", () => {
  const engine = new RelayEngine()
  assert.throws(
    () => engine.handleToolCall(0, call({ mode: "teleport" })),
    /unknown mode "teleport": use one of message, new, compact, fork/,
  )
  assert.throws(() => engine.handleToolCall(0, call({ text: "  " })), /`text` is empty/)
  assert.throws(() => engine.handleToolCall(0, call({ sessionId: 1 })), /`sessionId` must be a string, got the number 1/)
  assert.throws(() => engine.handleToolCall(0, [call()]), /malformed tool call: expected an object/)
  assert.throws(() => engine.handleToolCall(-1, call()), /nowMs/)
  assert.throws(() => engine.handleOutcome(0, 1, { type: "perhaps" }), /malformed outcome/)
  assert.throws(() => engine.handleEvent(0, { type: "session.idle", properties: {} }), /session.idle without properties.sessionID/)
  assert.throws(() => new RelayEngine({ requestTimeoutMs: 0 }), /requestTimeoutMs/)
  assert.equal(engine.isQuiet, true, "nothing was accepted")
})

test("unrelated events are reported as such and change nothing", () => {
  const engine = new RelayEngine()
  assert.equal(engine.handleEvent(0, { type: "message.part.delta", properties: { delta: "x" } }), false)
  assert.deepEqual(engine.pollActions(), [])
})

test("an outcome that arrives after its time limit belongs to no attempt", () => {
  const engine = new RelayEngine({ requestTimeoutMs: 10 })
  engine.handleToolCall(0, call())
  const [list] = engine.pollActions()
  engine.handleTimeout(10)
  const [warning] = engine.pollActions()
  assert.equal(warning.level, "warn")
  assert.match(warning.message, /listing agents failed \(no answer after 1 s while listing agents\); attempt 2 of 3 in 500 ms/)
  assert.equal(engine.handleOutcome(11, list.id, { type: "done" }), false)
  engine.handleTimeout(510)
  const [retry] = engine.pollActions()
  assert.deepEqual(retry.request, { op: "listAgents" })
  assert.notEqual(retry.id, list.id, "each attempt has an id of its own")
  assert.equal(engine.handleOutcome(511, list.id, { type: "done" }), false, "the first attempt's answer is stale")
  assert.equal(engine.handleOutcome(512, retry.id, { type: "agents", agents: [] }), true)
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
  const engine = new RelayEngine({ modes: ["fork", "message"] })
  assert.deepEqual(engine.enabledModes(), ["message", "fork", "status"])
  assert.deepEqual(new RelayEngine({ modes: ["compact"] }).enabledModes(), ["compact"], "status only comes with branches")
  assert.equal(engine.hops("ses_1"), 0)
  engine.handleUserMessage("ses_1", false)
  assert.equal(engine.isEmpty, true)
})
