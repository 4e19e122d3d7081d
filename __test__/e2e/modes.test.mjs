// The four modes of the `session` tool in a real `opencode serve`, driven by
// a scripted model. The plugin is loaded by path from this repository.

import assert from "node:assert/strict"
import { after, before, describe, test } from "node:test"
import { bootWithPlugin, showSession, shutdown, startTurn } from "./suite.mjs"
import { cue, textOf, toolParts, transcript, until } from "./transcript.mjs"

describe("session tool in real OpenCode", { timeout: 240_000 }, () => {
  let mock
  let oc

  before(async () => {
    ;({ mock, oc } = await bootWithPlugin({ agents: ["review", { name: "helper", mode: "subagent" }] }))
  })

  after(() => shutdown({ mock, oc }))

  const turn = (text, agent) => startTurn(oc, text, agent)
  const show = (sessionID) => showSession(oc, sessionID)

  /** Waits until `sessionID` holds an assistant message of `agent` whose text matches `pattern`. */
  async function answered(sessionID, agent, pattern, timeoutMs = 30_000) {
    return until(
      async () => {
        const messages = await oc.messages(sessionID)
        return messages.find(
          (m) => m.info.role === "assistant" && m.info.agent === agent && pattern.test(textOf(m)) && m.info.time?.completed,
        )
      },
      { timeoutMs, describe: () => show(sessionID) },
    )
  }

  test("message: plan answers in the same session after build's turn ends", async () => {
    const sessionID = await turn(cue({ mode: "message", agent: "plan", text: "Review the auth module" }))
    await answered(sessionID, "plan", /^\[plan\] got: Review the auth module$/)
    await oc.waitForIdle(sessionID)
    const lines = transcript(await oc.messages(sessionID))
    const expected = [
      `user → build: ${cue({ mode: "message", agent: "plan", text: "Review the auth module" })}`,
      "build: [tool session completed] Queued as relay #",
      "build: [build] done: Queued as relay #",
      "user → plan: Review the auth module",
      "plan: [plan] got: Review the auth module",
    ]
    assert.equal(lines.length, expected.length, lines.join("\n"))
    for (const [n, line] of lines.entries()) assert.ok(line.startsWith(expected[n]), `line ${n}: ${line}`)
  })

  test("message: several calls in one turn are each delivered once, in order", async () => {
    const sessionID = await turn(
      cue(
        { mode: "message", agent: "plan", text: "first: plan reviews" },
        { mode: "message", agent: "review", text: "second: review checks" },
        { mode: "message", text: "third: build fixes" },
      ),
    )
    await answered(sessionID, "build", /^\[build\] got: third: build fixes$/)
    await oc.waitForIdle(sessionID)
    const messages = await oc.messages(sessionID)
    const relayed = messages
      .filter((m) => m.info.role === "user")
      .slice(1)
      .map((m) => `${m.info.agent}: ${textOf(m)}`)
    assert.deepEqual(
      relayed,
      ["plan: first: plan reviews", "review: second: review checks", "build: third: build fixes"],
      await show(sessionID),
    )
    const answers = messages
      .filter((m) => m.info.role === "assistant")
      .slice(2)
      .map((m) => textOf(m))
    assert.deepEqual(answers, ["[plan] got: first: plan reviews", "[review] got: second: review checks", "[build] got: third: build fixes"])
  })

  test("message: agents can pass the turn back and forth (build → plan → build)", async () => {
    const back = cue({ mode: "message", agent: "build", text: "Implement what plan said" })
    const sessionID = await turn(cue({ mode: "message", agent: "plan", text: back }))
    await answered(sessionID, "build", /^\[build\] got: Implement what plan said$/)
    const messages = await oc.messages(sessionID)
    const agents = messages.filter((m) => m.info.role === "assistant").map((m) => m.info.agent)
    assert.deepEqual(agents, ["build", "build", "plan", "plan", "build"])
    const [, planCall] = toolParts(messages)
    assert.match(planCall.state.output, /^Queued as relay #\d+ for build: when your turn ends/, "plan's hand-off is next in line")
  })

  test("new: a fresh titled session where plan answers, and the tool returns before the answer", async () => {
    const before = new Set((await oc.sessions()).map((s) => s.id))
    const sessionID = await turn(cue({ mode: "new", agent: "plan", text: "Research rate limiting\nDELAY 1500" }))
    const [call] = await until(async () => {
      const parts = toolParts(await oc.messages(sessionID)).filter((p) => p.state.status === "completed")
      return parts.length ? parts : null
    })
    const created = (await oc.sessions()).filter((s) => !before.has(s.id) && s.id !== sessionID)
    assert.equal(created.length, 1)
    const [branch] = created
    assert.equal(branch.title, "new · plan · Research rate limiting")
    assert.match(
      call.state.output,
      new RegExp(
        `^Started a new session ${branch.id} "new · plan · Research rate limiting" without this conversation's history; plan is answering there now\\.`,
      ),
    )
    const answer = await answered(branch.id, "plan", /^\[plan\] got: Research rate limiting/)
    assert.ok(call.state.time.end < answer.info.time.completed, "the tool finished before the new session's answer")
    const messages = await oc.messages(branch.id)
    assert.deepEqual(
      messages.map((m) => m.info.role),
      ["user", "assistant"],
      "no history from the calling session",
    )
    assert.equal(messages[0].info.agent, "plan")
  })

  test("fork: three forks in one turn are answered concurrently, each with the history but not the calling tool", async () => {
    const texts = ["Try Redux\nDELAY 1500", "Try Context\nDELAY 1500", "Try Zustand\nDELAY 1500"]
    const sessionID = await turn(
      cue({ mode: "fork", text: texts[0] }, { mode: "fork", agent: "plan", text: texts[1] }, { mode: "fork", text: texts[2] }),
    )
    const calls = await until(async () => {
      const parts = toolParts(await oc.messages(sessionID)).filter((p) => p.state.status === "completed")
      return parts.length === 3 ? parts : null
    })
    const forkIds = calls.map((call) => /^Forked this session into (\S+) /.exec(call.state.output)?.[1])
    assert.equal(new Set(forkIds).size, 3, calls.map((c) => c.state.output).join("\n"))
    const agents = ["build", "plan", "build"]
    const answers = await Promise.all(
      forkIds.map((id, n) => answered(id, agents[n], new RegExp(`Try ${["Redux", "Context", "Zustand"][n]}\\nDELAY 1500$`))),
    )
    // Concurrent: every answer started before any of them finished.
    const starts = answers.map((a) => a.info.time.created)
    const ends = answers.map((a) => a.info.time.completed)
    assert.ok(Math.max(...starts) < Math.min(...ends), `answers overlap: starts ${starts}, ends ${ends}`)
    for (const id of forkIds) {
      const messages = await oc.messages(id)
      assert.equal(textOf(messages[0]), textOf((await oc.messages(sessionID))[0]), "the fork starts with the parent's history")
      assert.equal(toolParts(messages).length, 0, "the in-flight tool call is not copied")
    }
    for (const call of calls) assert.ok(call.state.time.end < Math.min(...ends), "each fork call returned before the forks answered")
    // Each fork is told apart by its title: its number, agent and task.
    const titles = await until(async () => {
      const sessions = await oc.sessions()
      const found = forkIds.map((id) => sessions.find((s) => s.id === id)?.title)
      return found.every((t) => /^fork \d\/3 · /.test(t ?? "")) ? found : null
    })
    // Numbers follow the order the calls got through their checks, which may vary.
    assert.deepEqual(titles.map((t) => t.slice(5, 8)).sort(), ["1/3", "2/3", "3/3"], titles.join("\n"))
    assert.deepEqual(
      titles.map((t) => t.slice(11)),
      ["build · Try Redux", "plan · Try Context", "build · Try Zustand"],
    )
  })

  test("compact: the session is summarized, then plan answers on the summary after a handoff note", async () => {
    const sessionID = await turn(cue({ mode: "compact", agent: "plan", text: "Review the architecture" }))
    await answered(sessionID, "plan", /Review the architecture$/)
    const messages = await oc.messages(sessionID)
    const summary = messages.findIndex((m) => m.info.role === "assistant" && m.info.summary === true)
    assert.ok(summary > 0, await show(sessionID))
    assert.match(textOf(messages[summary]), /^SUMMARY: \d+ messages summarized$/)
    const handoff = messages.slice(summary + 1).find((m) => m.info.role === "user")
    assert.equal(handoff.info.agent, "plan")
    assert.deepEqual(
      handoff.parts.filter((p) => p.type === "text").map((p) => p.text),
      ["[Session compacted — build handed over to plan]", "Review the architecture"],
    )
    // What the model saw: the summary in place of the history, then the handoff.
    const planRequest = mock.requests.find((r) => r.kind === "chat" && r.sessionID === sessionID && r.agent === "plan")
    const seen = planRequest.messages.map((m) => m.role).join(",")
    assert.ok(
      !planRequest.messages.some((m) => JSON.stringify(m.content ?? "").includes("CALL session")),
      `history replaced by the summary: ${seen}`,
    )
    assert.ok(mock.requests.some((r) => r.kind === "compaction" && r.sessionID === sessionID && r.at < planRequest.at))
  })

  test("an unknown or subagent target fails the call with the reason and the agents that can answer, and nothing is sent", async () => {
    const sessionID = await turn(cue({ mode: "message", agent: "reviewer", text: "x" }, { mode: "fork", agent: "helper", text: "y" }))
    const calls = await until(async () => {
      const parts = toolParts(await oc.messages(sessionID)).filter((p) => p.state.status === "error")
      return parts.length === 2 ? parts : null
    })
    await oc.waitForIdle(sessionID)
    const reasons = {
      reviewer: "is not an agent of this project",
      helper: "is a subagent: subagents run only inside a task, not as the agent of a session",
    }
    for (const [n, name] of ["reviewer", "helper"].entries()) {
      const error = calls[n].state.error
      // OpenCode 1.0 shows a tool's error as `Error: <message>`.
      const refused = /^(?:Error: )?Agent "(.+)" (.+)\. Agents that can answer: (.+)\. Nothing was sent\.$/.exec(error)
      assert.ok(refused, error)
      assert.deepEqual(refused.slice(1, 3), [name, reasons[name]])
      assert.deepEqual(refused[3].split(", ").sort(), ["build", "plan", "review"], "primary agents only")
    }
    await new Promise((resolve) => setTimeout(resolve, 500))
    const users = (await oc.messages(sessionID)).filter((m) => m.info.role === "user")
    assert.equal(users.length, 1, "no relay reached the session")
  })
})
