// Limits and faults around hand-offs through the OpenCode 2 adapter, against
// the model of OpenCode 2's plugin API (fake-opencode-2.mjs): the scenarios of
// __test__/e2e/control.test.mjs and faults.test.mjs.

import assert from "node:assert/strict"
import { spawnSync } from "node:child_process"
import fs from "node:fs"
import path from "node:path"
import { describe, test } from "node:test"
import * as serverModule from "../../server.js"
import { cue, FakeOpencode2, modelPerTest } from "./fake-opencode-2.mjs"

const model = modelPerTest(serverModule)
/** The model of the running test. */
let oc
const boot = async (options) => {
  oc = await model(options)
  return oc
}

const users = (sessionID) => oc.transcript(sessionID).filter((line) => line.startsWith("user → "))
const answer = (sessionID, agent = "build") => oc.until(() => oc.transcript(sessionID).find((line) => line.startsWith(`${agent}: `)))
const settle = (ms = 100) => new Promise((resolve) => setTimeout(resolve, ms))

describe("limits and faults over OpenCode 2's plugin API (model)", () => {
  test("a rule that denies session wholly hides the tool, and nothing is sent", async () => {
    await boot({ rules: [{ action: "session", resource: "*", effect: "deny" }] })
    const sessionID = await oc.startTurn(cue({ mode: "message", agent: "plan", text: "x" }))
    assert.match(await answer(sessionID), /error: no tool session/)
    await oc.until(() => oc.idle(sessionID))
    await settle()
    assert.equal(users(sessionID).length, 1)
    assert.ok(!oc.calls.some((c) => c.name === "agent.list"), "the engine never saw the call")
  })

  test("agents passing work back and forth stop at maxHops until a person writes", async () => {
    await boot({ options: { maxHops: 2 } })
    const third = cue({ mode: "message", agent: "plan", text: "third hop" })
    const second = cue({ mode: "message", agent: "build", text: third })
    const sessionID = await oc.startTurn(cue({ mode: "message", agent: "plan", text: second }))
    const refused = await oc.until(() => oc.transcript(sessionID).find((line) => line.includes("Refused: agents have handed work")))
    assert.match(refused, /limit maxHops = 2/)
    assert.ok(
      oc.stderr.some((line) => line.includes("Hand-off refused: hop limit")),
      oc.stderr.join("\n"),
    )
    await oc.until(() => oc.idle(sessionID))
    assert.ok(!users(sessionID).some((line) => line.endsWith("third hop")))
    // A person's message starts the count again.
    oc.personPrompt(sessionID, cue({ mode: "message", agent: "plan", text: "after a person wrote" }), "build")
    await oc.until(() => oc.transcript(sessionID).some((line) => line === "plan: [plan] got: after a person wrote"))
  })

  test("a person's interrupt cancels the hand-offs the turn queued, and says so", async () => {
    await boot()
    const sessionID = await oc.startTurn(
      `${cue({ mode: "message", agent: "plan", text: "a" }, { mode: "compact", agent: "plan", text: "b" })}\nSTALL`,
    )
    // Each call lists the agents twice: to check its agent, then the agent's permission rules.
    await oc.until(() => oc.calls.filter((c) => c.name === "agent.list").length === 4 && oc.stderr.length === 0 && settleCalls())
    await settle(50)
    assert.equal(oc.interrupt(sessionID), true)
    await oc.until(() => oc.stderr.some((line) => line.includes("Interrupted: 2 hand-offs cancelled")))
    await oc.until(() => oc.idle(sessionID))
    await settle()
    assert.equal(users(sessionID).length, 1, "nothing was sent")
    assert.ok(!oc.calls.some((c) => c.name === "session.compact"))
  })

  test("a compaction that fails is reported, nothing is sent, and the plugin goes on", async () => {
    await boot({ failCompaction: true })
    const sessionID = await oc.startTurn(cue({ mode: "compact", agent: "plan", text: "go on" }))
    const failed = await oc.until(() => oc.stderr.find((line) => line.includes("Hand-off to plan failed")))
    assert.match(failed, /context too long to summarize/)
    await oc.until(() => oc.idle(sessionID))
    assert.equal(users(sessionID).length, 1, "nothing was sent")
    oc.personPrompt(sessionID, cue({ mode: "message", agent: "plan", text: "still working" }), "build")
    await oc.until(() => oc.transcript(sessionID).includes("plan: [plan] got: still working"))
  })

  test("the model fails after the hand-off: the hand-off still goes out, without waiting for a second idle", async () => {
    await boot()
    const sessionID = await oc.startTurn(`${cue({ mode: "message", agent: "plan", text: "still wanted" })}\nFAIL ProviderError`)
    const failedAt = await oc.until(() => oc.events.find((e) => e.type === "session.execution.failed")?.created)
    await oc.until(() => oc.transcript(sessionID).includes("plan: [plan] got: still wanted"))
    const sentAt = oc.events.find((e) => e.type === "session.execution.started" && e.created >= failedAt)?.created
    assert.ok(sentAt - failedAt < 1_000, `sent ${sentAt - failedAt} ms after the failure`)
    assert.match(oc.transcript(sessionID)[1], /\[ProviderError\]$/)
  })

  test("the provider fails once and OpenCode retries: the turn goes on, and the hand-off goes out once", async () => {
    await boot()
    const sessionID = await oc.startTurn(`${cue({ mode: "message", agent: "plan", text: "once" })}\nRETRY`)
    await oc.until(() => oc.transcript(sessionID).includes("plan: [plan] got: once"))
    await oc.until(() => oc.idle(sessionID))
    await settle()
    assert.ok(oc.events.some((e) => e.type === "session.retry.scheduled"))
    assert.equal(users(sessionID).filter((line) => line === "user → plan: once").length, 1)
  })

  test("the model stalls mid-turn: the hand-off waits, other sessions go on, and stopping the turn cancels it", async () => {
    await boot()
    const stalled = await oc.startTurn(`${cue({ mode: "message", agent: "plan", text: "later" })}\nSTALL`)
    await oc.until(() => oc.calls.some((c) => c.name === "agent.list"))
    const other = await oc.startTurn(cue({ mode: "message", agent: "plan", text: "meanwhile" }))
    await oc.until(() => oc.transcript(other).includes("plan: [plan] got: meanwhile"))
    assert.equal(users(stalled).length, 1, "the stalled session's hand-off waits")
    oc.interrupt(stalled)
    await oc.until(() => oc.stderr.some((line) => line.includes("Interrupted: 1 hand-off cancelled")))
    await oc.until(() => oc.idle(stalled))
    await settle()
    assert.equal(users(stalled).length, 1)
  })

  test("a session deleted with a hand-off pending: the loss is reported, other sessions go on", async () => {
    await boot()
    const doomed = await oc.startTurn(`${cue({ mode: "message", agent: "plan", text: "Review the diff" })}\nSTALL`)
    await oc.until(() => oc.calls.some((c) => c.name === "agent.list"))
    await settle(50)
    oc.deleteSession(doomed)
    const lost = await oc.until(() => oc.stderr.find((line) => line.includes("the session was deleted")))
    assert.match(lost, /Review the diff/)
    const other = await oc.startTurn(cue({ mode: "message", agent: "plan", text: "fine" }))
    await oc.until(() => oc.transcript(other).includes("plan: [plan] got: fine"))
  })

  test("OpenCode stopped with a hand-off pending: the next start tells the session, and it works as before", async () => {
    await boot()
    const sessionID = await oc.startTurn(`${cue({ mode: "message", agent: "plan", text: "Review the diff" })}\nSTALL`)
    const stateDir = path.join(process.env.XDG_STATE_HOME, "opencode-sessions")
    const list = await oc.until(() => fs.existsSync(stateDir) && fs.readdirSync(stateDir).find((name) => name.endsWith(".json")))
    await oc.stop()
    oc.interrupt(sessionID)
    // As if that process had been killed: its list names a process that is
    // gone, under a token no instance of this process holds.
    const gone = spawnSync(process.execPath, ["-e", ""]).pid
    const record = JSON.parse(fs.readFileSync(path.join(stateDir, list), "utf8"))
    fs.rmSync(path.join(stateDir, list))
    fs.writeFileSync(
      path.join(stateDir, list.replace(/-\d+-[0-9a-f]+\.json$/, `-${gone}-0badc0de.json`)),
      JSON.stringify({ ...record, pid: gone }),
    )
    const sessions = oc.sessions
    oc = new FakeOpencode2()
    oc.sessions = sessions
    await oc.load(serverModule)
    const note = await oc.until(() => oc.transcript(sessionID).find((line) => line.startsWith("note: [Hand-off not delivered]")))
    assert.match(note, /relay #\d+ \(message → plan\)/)
    assert.match(note, /Review the diff/)
    assert.ok(
      oc.stderr.some((line) => line.includes("OpenCode stopped: 1 hand-off not delivered")),
      oc.stderr.join("\n"),
    )
    await oc.until(() => fs.readdirSync(stateDir).length === 0)
    oc.personPrompt(sessionID, cue({ mode: "message", agent: "plan", text: "again" }), "build")
    await oc.until(() => oc.transcript(sessionID).includes("plan: [plan] got: again"))
  })

  test("the event stream fails mid-session: it is subscribed to again after a growing wait, said on stderr, and later hand-offs are delivered", async () => {
    await boot()
    const sessionID = await oc.startTurn(cue({ mode: "message", agent: "plan", text: "first" }))
    await oc.until(() => oc.transcript(sessionID).includes("plan: [plan] got: first"))
    await oc.until(() => oc.idle(sessionID))
    const subscribed = () => oc.calls.filter((c) => c.name === "event.subscribe").length
    const ended = (waitMs) => oc.stderr.filter((line) => line.includes(`the event stream ended`) && line.endsWith(`again in ${waitMs} ms`))
    // A person's prompt: its first event fails to encode, which ends the stream.
    oc.breakStream()
    oc.personPrompt(sessionID, "hello", "build")
    await oc.until(() => ended(100).length === 1 && subscribed() === 2 && oc.subscribers.size === 1)
    assert.match(
      ended(100)[0],
      /^\[opencode-sessions\] error: the event stream ended \(Expected a known event type, got "session\.agent\.selected"\)/,
    )
    // Ending again before any event came through waits longer.
    oc.breakStream()
    oc.personPrompt(sessionID, "hello again", "build")
    await oc.until(() => ended(500).length === 1 && subscribed() === 3, { describe: () => oc.stderr.join("\n") })
    await oc.until(() => oc.idle(sessionID))
    oc.personPrompt(sessionID, cue({ mode: "message", agent: "plan", text: "after the stream came back" }), "build")
    await oc.until(() => oc.transcript(sessionID).includes("plan: [plan] got: after the stream came back"))
    assert.equal(subscribed(), 3)
  })

  test("once the plugin is disposed, an ended event stream is not subscribed to again", async () => {
    await boot()
    oc.breakStream()
    await oc.startTurn("hello")
    await oc.until(() => oc.stderr.some((line) => line.includes("the event stream ended")))
    await oc.stop()
    await settle(300)
    assert.equal(oc.calls.filter((c) => c.name === "event.subscribe").length, 1)
    assert.equal(oc.subscribers.size, 0)
    oc = undefined
  })

  test("switchTo: the TUI cannot be switched from a server plugin; the branch runs all the same and the reason is logged", async () => {
    await boot({ options: { switchTo: ["new"] } })
    const parent = await oc.startTurn(cue({ mode: "new", agent: "plan", text: "elsewhere" }))
    const branch = await oc.until(() => [...oc.sessions.values()].find((s) => s.id !== parent))
    await oc.until(() => oc.transcript(branch.id).includes("plan: [plan] got: elsewhere"))
    await oc.until(() => oc.stderr.some((line) => line.includes("no way to show a session in the TUI")))
  })
})

/** The tool calls of the stalled turn have reached the engine and been answered. */
function settleCalls() {
  return oc.transcript([...oc.sessions.keys()][0]).length >= 2
}
