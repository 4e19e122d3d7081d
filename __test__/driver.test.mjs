// The host-neutral driver with a stand-in host: it runs the engine's actions
// through whatever adapter it is given, and knows nothing of OpenCode.

import assert from "node:assert/strict"
import { test } from "node:test"
import { RelayEngine } from "../index.js"
import { createDriver } from "../lib/driver.js"
import { settle, toolCallInput } from "./fake-client.mjs"

/** A host that answers every request at once and records what it was asked. */
function fakeHost(answers = {}) {
  const performed = []
  const logs = []
  const toasts = []
  return {
    performed,
    logs,
    toasts,
    async perform(request, timeoutMs, call, nowMs) {
      performed.push({ request, timeoutMs, call, nowMs })
      return (answers[request.op] ?? (() => ({ type: "done" })))(request, call)
    },
    async log(level, message) {
      logs.push([level, message])
    },
    async toast(toast) {
      toasts.push(toast)
    },
  }
}

const agents = () => ({
  type: "agents",
  agents: [
    { name: "build", mode: "primary" },
    { name: "plan", mode: "primary" },
  ],
})

test("a message relay runs through any host: the permission request carries the tool call's host data", async () => {
  const host = fakeHost({ listAgents: agents })
  const notices = []
  const driver = createDriver({ engine: new RelayEngine(), host, onNotice: (notice) => notices.push(notice) })
  driver.input((engine, now) => engine.status(now, "ses_1", true))
  const hostCall = { ask: "whatever the adapter needs" }
  const reply = await driver.toolCall(toolCallInput({ agent: "plan" }), hostCall)
  assert.match(reply, /^Queued as relay #\d+ for plan/)
  const ask = host.performed.find((p) => p.request.op === "askPermission")
  assert.equal(ask.call.host, hostCall, "the adapter gets back what it handed the call")
  assert.ok(
    host.performed.filter((p) => p.request.op !== "askPermission").every((p) => p.call === undefined),
    "other requests name no call",
  )

  driver.input((engine, now) => engine.status(now, "ses_1", false))
  await settle()
  const prompt = host.performed.find((p) => p.request.op === "prompt")
  assert.deepEqual(prompt.request, { op: "prompt", sessionId: "ses_1", agent: "plan", parts: ["review this"] })
  assert.deepEqual(
    notices.map((n) => n.kind),
    ["relayQueued", "relayStarted"],
  )
  assert.equal(notices[0].agent, "plan")
  assert.ok(
    host.logs.some(([level, message]) => level === "info" && /relay #\d+ starting in ses_1: message → plan/.test(message)),
    "the log lines made from the notices still go to the host",
  )
  driver.dispose()
})

test("a refusal the adapter left on the call rejects the tool call with it", async () => {
  class Refused extends Error {}
  const refusal = new Refused("rule denies it")
  const host = fakeHost({
    listAgents: agents,
    askPermission: (_, call) => {
      call.refusal = refusal
      return { type: "failed", message: refusal.message, cause: "refused" }
    },
  })
  const driver = createDriver({ engine: new RelayEngine(), host })
  await assert.rejects(driver.toolCall(toolCallInput({ agent: "plan" }), {}), (error) => error === refusal)
  driver.dispose()
})

test("a listener that throws is logged, and notices are ignored without one", async () => {
  const host = fakeHost({ listAgents: agents })
  const driver = createDriver({
    engine: new RelayEngine(),
    host,
    onNotice() {
      throw new Error("listener broke")
    },
  })
  await driver.toolCall(toolCallInput({ agent: "plan" }), {})
  assert.ok(host.logs.some(([level, message]) => level === "error" && message === "a notice listener failed: listener broke"))
  driver.dispose()

  const quiet = fakeHost({ listAgents: agents })
  const plain = createDriver({ engine: new RelayEngine(), host: quiet })
  await plain.toolCall(toolCallInput({ agent: "plan" }), {})
  assert.ok(!quiet.logs.some(([level]) => level === "error"))
  plain.dispose()
})

test("an input the engine refuses is logged and reported, and a host that throws becomes a failed outcome", async () => {
  const host = fakeHost({
    listAgents: () => {
      throw new Error("socket closed")
    },
  })
  const driver = createDriver({ engine: new RelayEngine(), host })
  assert.equal(
    driver.input((engine, now) => engine.idle(now, "")),
    false,
  )
  assert.deepEqual(host.logs.at(-1), ["error", 'opencode-sessions: malformed sessionId: expected a non-empty string, got ""'])
  await assert.rejects(driver.toolCall(toolCallInput({ agent: "plan" }), {}), /socket closed/)
  driver.dispose()
})

test("settle resolves once every request an input led to has its outcome, and not before", async () => {
  // Each request is held until the test lets it go, so the order is the test's.
  const held = []
  const host = {
    ...fakeHost(),
    perform(request) {
      return new Promise((resolve) => held.push({ request, resolve }))
    },
  }
  const driver = createDriver({ engine: new RelayEngine(), host })
  driver.input((engine, now) => engine.hostEndsWithTurn() ?? engine.status(now, "ses_1", true))
  const reply = driver.toolCall(toolCallInput({ mode: "compact", agent: "plan" }))
  held.shift().resolve(agents())
  await settle()
  held.shift().resolve({ type: "done" })
  assert.match(await reply, /^Queued as relay #\d+/)

  let settled = false
  const ending = driver
    .settle((engine, now) => engine.turnEnding(now, "ses_1", "msg_2"))
    .then(() => {
      settled = true
    })
  assert.deepEqual(
    held.map((h) => h.request.op),
    ["lastUserModel"],
  )
  held.shift().resolve({ type: "model", providerId: "p", modelId: "m" })
  await settle()
  assert.equal(settled, false, "the summary its outcome led to is still out")
  assert.deepEqual(
    held.map((h) => h.request.op),
    ["summarize"],
  )
  held.shift().resolve({ type: "done" })
  await ending
  assert.equal(held.length, 0)
  assert.equal(await driver.settle((engine, now) => engine.turnEnding(now, "ses_2", "msg_3")), undefined, "nothing to wait for")
  driver.dispose()
})

test("a request is performed with the time of the input that issued it", async () => {
  const host = fakeHost({ listAgents: agents })
  let clock = 1_000
  const driver = createDriver({ engine: new RelayEngine(), host, now: () => clock })
  driver.input((engine, now) => engine.status(now, "ses_1", true))
  clock = 2_000
  const reply = driver.toolCall(toolCallInput({ agent: "plan" }), {})
  clock = 3_000
  await reply
  assert.deepEqual(
    host.performed.map((p) => [p.request.op, p.nowMs]),
    [
      ["listAgents", 2_000],
      ["askPermission", 3_000],
    ],
    "the tool call's first request, then the one its outcome led to",
  )
  clock = 4_000
  driver.input((engine, now) => engine.status(now, "ses_1", false))
  assert.deepEqual([host.performed.at(-1).request.op, host.performed.at(-1).nowMs], ["prompt", 4_000])
  driver.dispose()
})
