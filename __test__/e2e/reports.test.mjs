// Branches reporting back to the session that opened them, in a real
// `opencode serve`: notes as each fork finishes, one summary, `status`.

import assert from "node:assert/strict"
import { after, before, describe, test } from "node:test"
import { bootWithPlugin, showSession, shutdown } from "./suite.mjs"
import { cue, textOf, toolParts, until } from "./transcript.mjs"

describe("branches report back in real OpenCode", { timeout: 240_000 }, () => {
  let mock
  let oc

  before(async () => {
    ;({ mock, oc } = await bootWithPlugin())
  })

  after(() => shutdown({ mock, oc }))

  const show = (sessionID) => showSession(oc, sessionID)

  test("three forks report in the order they finish, then one summary; status lists them", async () => {
    const session = await oc.createSession(`e2e ${Date.now()}`)
    const forks = [
      { mode: "fork", text: "Try Redux\nDELAY 1800" },
      { mode: "fork", agent: "plan", text: "Try Context\nDELAY 200" },
      { mode: "fork", text: "Try Zustand\nDELAY 1000" },
    ]
    await oc.promptAsync(session.id, cue(...forks), "build")
    // Notes are user messages that start no turn: the parent ends up with 4 of them.
    const notes = await until(
      async () => {
        const messages = await oc.messages(session.id)
        const found = messages.filter((m) => m.info.role === "user" && /^\[(Branch|All)/.test(textOf(m)))
        return found.length >= 4 ? found : null
      },
      { describe: () => show(session.id) },
    )
    const heads = notes.map((m) => textOf(m).split("\n")[0])
    assert.match(heads[0], /^\[Branch finished\] "fork \d\/3 · plan · Try Context" \(ses_\w+, plan\)$/)
    assert.match(heads[1], /^\[Branch finished\] "fork \d\/3 · build · Try Zustand"/)
    assert.match(heads[2], /^\[Branch finished\] "fork \d\/3 · build · Try Redux"/)
    assert.equal(heads[3], "[All 3 fork branches of this turn are done]")
    assert.match(textOf(notes[0]), /\[plan\] got: Try Context/, "the report carries the branch's answer")
    const summary = textOf(notes[3])
    for (const text of ["Try Redux", "Try Context", "Try Zustand"]) assert.match(summary, new RegExp(`got: ${text}`))

    // No note started a turn: the parent's last message is still the summary.
    await new Promise((resolve) => setTimeout(resolve, 500))
    const messages = await oc.messages(session.id)
    assert.equal(messages.at(-1).info.role, "user", await show(session.id))
    assert.equal(notes.length, 4, "the summary arrives once")

    // The schema the model receives: plain JSON Schema, only `mode` required.
    const parameters = mock.requests.find((r) => r.kind === "chat").body.tools.find((t) => t.function.name === "session")
      .function.parameters
    assert.deepEqual(parameters.required, ["mode"])
    assert.deepEqual(parameters.properties.mode.enum, ["message", "new", "compact", "fork", "status", "cancel"])

    // status, asked by the agent in a new turn of the parent, without text.
    const mark = oc.mark()
    await oc.promptAsync(session.id, cue({ mode: "status" }), "build")
    await oc.waitForIdle(session.id, { after: mark })
    const statusCall = toolParts(await oc.messages(session.id)).at(-1)
    assert.equal(statusCall.state.status, "completed", await show(session.id))
    const lines = statusCall.state.output.split("\n")
    assert.equal(lines[0], "Branches opened from this session, oldest first (3):")
    assert.equal(lines.slice(1, 4).filter((l) => / — finished: \[(build|plan)\] got: Try /.test(l)).length, 3, statusCall.state.output)
  })
})
