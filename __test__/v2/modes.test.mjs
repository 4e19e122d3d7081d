// Every mode of the `session` tool through the OpenCode 2 adapter, against
// the model of OpenCode 2's plugin API in fake-opencode-2.mjs (the sources it
// follows are named there). The same scenarios as __test__/e2e/modes.test.mjs
// and reports.test.mjs run in a real OpenCode 1.x.

import assert from "node:assert/strict"
import { describe, test } from "node:test"
import * as serverModule from "../../server.js"
import { cue, modelPerTest } from "./fake-opencode-2.mjs"

const model = modelPerTest(serverModule)
/** The model of the running test. */
let oc
const boot = async (options) => {
  oc = await model(options)
  return oc
}

const answered = (sessionID, agent, pattern) =>
  oc.until(() => oc.transcript(sessionID).find((line) => line.startsWith(`${agent}: `) && pattern.test(line.slice(agent.length + 2))), {
    describe: () => oc.transcript(sessionID).join("\n"),
  })

describe("session tool over OpenCode 2's plugin API (model)", () => {
  test("the tool is registered with raw JSON Schema, out of Code Mode, only `mode` required", async () => {
    await boot({ server: true })
    const tool = oc.tools.get("session")
    assert.deepEqual(tool.options, { codemode: false })
    assert.equal(tool.input.type, "object")
    assert.deepEqual(tool.input.required, ["mode"])
    assert.deepEqual(tool.input.properties.mode.enum, ["message", "new", "compact", "fork", "status", "cancel"])
    assert.match(tool.description, /^Hand work to an agent/)
    assert.deepEqual(oc.stderr, [])
  })

  test("message: plan answers in the same session after build's turn ends", async () => {
    await boot()
    const calling = cue({ mode: "message", agent: "plan", text: "Review the auth module" })
    const sessionID = await oc.startTurn(calling)
    await answered(sessionID, "plan", /^\[plan\] got: Review the auth module$/)
    await oc.until(() => oc.idle(sessionID))
    const lines = oc.transcript(sessionID)
    const expected = [
      `user → build: ${calling}`,
      "build: [build] done: Queued as relay #",
      "user → plan: Review the auth module",
      "plan: [plan] got: Review the auth module",
    ]
    assert.equal(lines.length, expected.length, lines.join("\n"))
    for (const [n, line] of lines.entries()) assert.ok(line.startsWith(expected[n]), `line ${n}: ${line}`)
    // The relayed prompt carries the plugin's mark and waits its turn.
    const prompt = oc.calls.find((c) => c.name === "session.prompt" && c.input.text === "Review the auth module")
    assert.deepEqual(prompt.input.metadata, { "opencode-sessions": true })
    assert.equal(prompt.input.delivery, "queue")
    const switched = oc.calls.findLast((c) => c.name === "session.switchAgent" && c.input.sessionID === sessionID)
    assert.equal(switched.input.agent, "plan")
  })

  test("message: several calls in one turn are each delivered once, in order", async () => {
    await boot()
    const sessionID = await oc.startTurn(
      cue(
        { mode: "message", agent: "plan", text: "first: plan reviews" },
        { mode: "message", agent: "review", text: "second: review checks" },
        { mode: "message", text: "third: build fixes" },
      ),
    )
    await answered(sessionID, "build", /^\[build\] got: third: build fixes$/)
    await oc.until(() => oc.idle(sessionID))
    const users = oc.transcript(sessionID).filter((line) => line.startsWith("user → "))
    assert.deepEqual(users.slice(1), [
      "user → plan: first: plan reviews",
      "user → review: second: review checks",
      "user → build: third: build fixes",
    ])
  })

  test("message: agents can pass the turn back and forth (build → plan → build)", async () => {
    await boot()
    const back = cue({ mode: "message", agent: "build", text: "fix what I found" })
    const sessionID = await oc.startTurn(cue({ mode: "message", agent: "plan", text: back }))
    await answered(sessionID, "build", /^\[build\] got: fix what I found$/)
    const agents = oc
      .transcript(sessionID)
      .filter((line) => line.startsWith("user → "))
      .map((line) => line.split(":")[0])
    assert.deepEqual(agents, ["user → build", "user → plan", "user → build"])
  })

  test("new: a fresh titled session where plan answers; the tool returns first, and the branch reports back", async () => {
    await boot()
    const parent = await oc.startTurn(cue({ mode: "new", agent: "plan", text: "Research rate limiting" }))
    const result = await oc.until(() => oc.transcript(parent).find((line) => line.startsWith("build: [build] done: ")))
    assert.match(result, /ses_\w+/)
    const branch = [...oc.sessions.values()].find((s) => s.id !== parent)
    assert.equal(branch.title, "new · plan · Research rate limiting")
    assert.equal(branch.parentID, undefined, "a new session has no history of its parent")
    await answered(branch.id, "plan", /^\[plan\] got: Research rate limiting$/)
    assert.equal(oc.transcript(branch.id)[0], "user → plan: Research rate limiting")
    const note = await oc.until(() => oc.transcript(parent).find((line) => line.startsWith("note: [Branch finished]")))
    assert.match(note, /\[plan\] got: Research rate limiting/)
    // A note starts no turn.
    assert.equal(oc.calls.find((c) => c.name === "session.synthetic").input.resume, false)
  })

  test("fork through the host's HTTP server: three forks, each with the history before the call, titled, reporting, then status", async () => {
    await boot({ server: true })
    const forks = [
      { mode: "fork", text: "Try Redux\nDELAY 300" },
      { mode: "fork", agent: "plan", text: "Try Context\nDELAY 20" },
      { mode: "fork", text: "Try Zustand\nDELAY 150" },
    ]
    const parent = oc.create({ title: "parent" }).id
    oc.personPrompt(parent, "earlier question", "build")
    await answered(parent, "build", /got: earlier question/)
    await oc.until(() => oc.idle(parent))
    oc.personPrompt(parent, cue(...forks), "build")
    const notes = await oc.until(() => {
      const found = oc.transcript(parent).filter((line) => /^note: \[(Branch|All)/.test(line))
      return found.length >= 4 ? found : null
    })
    const heads = notes.map((line) => line.split("\n")[0])
    assert.match(heads[0], /^note: \[Branch finished\] "fork \d\/3 · plan · Try Context" \(ses_\w+, plan\)$/)
    assert.match(heads[1], /^note: \[Branch finished\] "fork \d\/3 · build · Try Zustand"/)
    assert.match(heads[2], /^note: \[Branch finished\] "fork \d\/3 · build · Try Redux"/)
    assert.equal(heads[3], "note: [All 3 fork branches of this turn are done]")
    const branches = [...oc.sessions.values()].filter((s) => s.parentID === parent)
    assert.equal(branches.length, 3)
    for (const branch of branches) {
      const lines = oc.transcript(branch.id)
      // The history before the calling message: the earlier exchange and the person's prompt, not the call's answer.
      assert.equal(lines[0], "user → build: earlier question")
      assert.match(lines[1], /^build: \[build\] got: earlier question$/)
      assert.ok(!lines.some((line) => line.includes("done: ")), lines.join("\n"))
      assert.match(branch.title, /^fork \d\/3 · (build|plan) · Try /)
    }
    const forkCalls = oc.calls.filter((c) => c.name.startsWith("http POST") && c.name.endsWith("/fork"))
    assert.equal(forkCalls.length, 3)
    assert.ok(
      forkCalls.every((c) => c.input.before?.startsWith("msg_")),
      JSON.stringify(forkCalls),
    )
    // status, in a new turn, without text.
    oc.personPrompt(parent, cue({ mode: "status" }), "build")
    const statusCall = `user → build: ${cue({ mode: "status" })}`
    const status = await oc.until(() => {
      const lines = oc.transcript(parent)
      const asked = lines.indexOf(statusCall)
      return asked >= 0 && lines.slice(asked + 1).find((line) => line.startsWith("build: "))
    })
    for (const text of ["Try Redux", "Try Context", "Try Zustand"]) assert.ok(status.includes(text), status)
    assert.match(status, /finished/)
  })

  test("cancel: a running fork is interrupted through ctx.session.interrupt and shows as cancelled", async () => {
    await boot({ server: true })
    const parent = await oc.startTurn(cue({ mode: "fork", agent: "plan", text: "STALL" }))
    const branch = await oc.until(() => [...oc.sessions.values()].find((s) => s.parentID === parent))
    await oc.until(() => oc.idle(parent))
    oc.personPrompt(parent, cue({ mode: "cancel", session: branch.id }), "build")
    const answer = await oc.until(() => oc.transcript(parent).find((line) => line.startsWith("build: [build] done: Cancelled branch")))
    assert.match(answer, new RegExp(`Cancelled branch ${branch.id} "fork · plan · STALL": its turn was stopped`))
    assert.ok(oc.calls.some((c) => c.name === "session.interrupt" && c.input.sessionID === branch.id))
    await oc.until(() => oc.idle(parent))
    oc.personPrompt(parent, cue({ mode: "status" }), "build")
    const status = await oc.until(() => oc.transcript(parent).find((line) => line.includes("— cancelled")))
    assert.ok(status.includes(branch.id), status)
  })

  test("fork through ctx.session.fork, where the build has it", async () => {
    await boot({ forkApi: true })
    assert.ok(oc.tools.get("session").input.properties.mode.enum.includes("fork"))
    const parent = await oc.startTurn(cue({ mode: "fork", agent: "plan", text: "Try it" }))
    const branch = await oc.until(() => [...oc.sessions.values()].find((s) => s.parentID === parent))
    await answered(branch.id, "plan", /^\[plan\] got: Try it$/)
    assert.ok(oc.calls.some((c) => c.name === "session.fork" && c.input.sessionID === parent))
    await oc.until(() => oc.transcript(parent).some((line) => line.startsWith("note: [Branch finished]")))
  })

  test("compact: the session is compacted, then plan answers on the summary after a hand-off note", async () => {
    await boot()
    const sessionID = await oc.startTurn(cue({ mode: "compact", agent: "plan", text: "Review the architecture" }))
    await answered(sessionID, "plan", /Review the architecture$/)
    const lines = oc.transcript(sessionID)
    assert.match(lines[0], /^compaction: SUMMARY: \d+ messages summarized$/)
    assert.equal(lines[1], "user → plan: [Session compacted — build handed over to plan]\n\nReview the architecture")
    const compact = oc.calls.find((c) => c.name === "session.compact")
    assert.deepEqual(compact.input, { sessionID })
    // Compacted once the calling turn was over, not during it.
    const started = oc.events.findIndex((e) => e.type === "session.compaction.started")
    const turnEnd = oc.events.findIndex((e) => e.type === "session.execution.succeeded" && e.data.sessionID === sessionID)
    assert.ok(turnEnd < started, "the calling turn ended before the compaction started")
  })

  test("an unknown or subagent target fails the call with the reason and the agents that can answer, and nothing is sent", async () => {
    await boot({ server: true })
    const sessionID = await oc.startTurn(
      cue({ mode: "message", agent: "reviewer", text: "x" }, { mode: "fork", agent: "helper", text: "y" }),
    )
    const answer = await oc.until(() => oc.transcript(sessionID).find((line) => line.startsWith("build: ")))
    const reasons = [
      ["reviewer", "is not an agent of this project"],
      ["helper", "is a subagent: subagents run only inside a task, not as the agent of a session"],
    ]
    const results = answer.slice("build: [build] done: ".length).split(" | ")
    for (const [n, [name, reason]] of reasons.entries()) {
      const refused = /^error: Agent "(.+)" (.+)\. Agents that can answer: (.+)\. Nothing was sent\.$/.exec(results[n])
      assert.ok(refused, results[n])
      assert.deepEqual(refused.slice(1, 3), [name, reason])
      assert.deepEqual(refused[3].split(", ").sort(), ["build", "plan", "review"], "primary agents only")
    }
    await oc.until(() => oc.idle(sessionID))
    assert.equal(oc.transcript(sessionID).filter((line) => line.startsWith("user → ")).length, 1, "no relay reached the session")
    assert.equal(oc.sessions.size, 1, "no branch was opened")
  })
})
