// Steering the branches a session opened, in a real `opencode serve`: the
// maxBranches cap on model streams, a follow-up answered in its branch and
// reported home, a cancelled fork whose model stream OpenCode closes, and a
// fork whose bash command waits for a person, announced at once.

import assert from "node:assert/strict"
import { after, before, describe, test } from "node:test"
import { bootWithPlugin, showSession, shutdown } from "./suite.mjs"
import { cue, textOf, toolParts, until } from "./transcript.mjs"

/** The parent's notes (reports and summaries): user messages that start no turn. */
async function notesOf(oc, sessionID) {
  return (await oc.messages(sessionID)).filter((m) => m.info.role === "user" && /^\[(Branch|All|The)/.test(textOf(m))).map(textOf)
}

/** The sessions titled as branches whose titles end with one of `texts`. */
async function branchesTitled(oc, texts) {
  const sessions = await oc.sessions()
  return sessions.filter((s) => /^fork( \d+\/\d+)? · /.test(s.title) && texts.some((text) => s.title.endsWith(` · ${text}`)))
}

describe("steering branches in real OpenCode", { timeout: 240_000 }, () => {
  let mock
  let oc

  before(async () => {
    ;({ mock, oc } = await bootWithPlugin({ pluginOptions: { maxBranches: 2 }, extraConfig: { permission: { bash: "ask" } } }))
  })

  after(() => shutdown({ mock, oc }))

  const show = (sessionID) => showSession(oc, sessionID)

  test("four forks under maxBranches 2: never more than two model streams at once, all four answered", async (t) => {
    const session = await oc.createSession(`e2e ${Date.now()}`)
    const forks = ["A", "B", "C", "D"].map((name) => ({ mode: "fork", text: `Try ${name}\nDELAY 1200` }))
    await oc.promptAsync(session.id, cue(...forks), "build")
    const notes = await until(
      async () => {
        const found = await notesOf(oc, session.id)
        return found.some((n) => n.startsWith("[All 4 fork branches")) ? found : null
      },
      { timeoutMs: 60_000, describe: () => show(session.id) },
    )
    const summary = notes.find((n) => n.startsWith("[All 4 fork branches"))
    for (const name of ["A", "B", "C", "D"]) assert.match(summary, new RegExp(`\\[build\\] got: Try ${name}`), summary)

    // The calls past the cap were told they wait, and at which place.
    const results = toolParts(await oc.messages(session.id)).map((p) => p.state.output ?? "")
    const waiting = results.filter((r) => r.startsWith("Waiting: this session already runs 2 branches (maxBranches = 2)."))
    assert.equal(waiting.length, 2, results.join("\n"))
    assert.ok(waiting.some((r) => r.includes("is number 1 in line")) && waiting.some((r) => r.includes("is number 2 in line")))

    // The model streams of the four branch sessions, as the mock saw them open and close.
    const branchIds = new Set((await branchesTitled(oc, ["Try A", "Try B", "Try C", "Try D"])).map((s) => s.id))
    assert.equal(branchIds.size, 4)
    const streams = mock.requests.filter((r) => r.kind === "chat" && branchIds.has(r.sessionID))
    assert.equal(streams.length, 4, JSON.stringify(streams.map((r) => [r.sessionID, r.at, r.closedAt])))
    const edges = streams.flatMap((r) => [
      { at: r.at, open: 1 },
      { at: r.closedAt, open: -1 },
    ])
    // A close and an open at the same millisecond: the close goes first.
    edges.sort((a, b) => a.at - b.at || a.open - b.open)
    let open = 0
    let most = 0
    for (const edge of edges) {
      open += edge.open
      most = Math.max(most, open)
    }
    assert.equal(most, 2, JSON.stringify(streams.map((r) => [r.at, r.closedAt])))
    t.diagnostic(`at most ${most} branch model streams at once, of ${streams.length}`)
  })

  test("a follow-up to a branch is answered there and reported home", async () => {
    const session = await oc.createSession(`e2e ${Date.now()}`)
    await oc.promptAsync(session.id, cue({ mode: "fork", text: "Draft the plan" }), "build")
    await until(async () => (await notesOf(oc, session.id)).length >= 1, { describe: () => show(session.id) })
    const [branch] = await branchesTitled(oc, ["Draft the plan"])
    await oc.waitForIdle(session.id)

    const mark = oc.mark()
    await oc.promptAsync(session.id, cue({ mode: "message", session: branch.id, agent: "plan", text: "Now review it" }), "build")
    await oc.waitForIdle(session.id, { after: mark })
    const result = toolParts(await oc.messages(session.id)).at(-1)
    assert.equal(result.state.status, "completed", await show(session.id))
    assert.match(
      result.state.output,
      new RegExp(`^Sent as relay #\\d+ to branch ${branch.id} "fork · build · Draft the plan": plan is answering your text there now\\.`),
    )
    const report = await until(async () => (await notesOf(oc, session.id)).find((n) => n.includes("[plan] got: Now review it")), {
      describe: () => show(session.id),
    })
    assert.match(report, new RegExp(`^\\[Branch finished\\] "fork · build · Draft the plan" \\(${branch.id}, build\\)`))
    const inBranch = (await oc.messages(branch.id)).map((m) => `${m.info.role}/${m.info.agent}: ${textOf(m)}`)
    assert.ok(inBranch.includes("user/plan: Now review it"), inBranch.join("\n"))
    assert.ok(inBranch.includes("assistant/plan: [plan] got: Now review it"), inBranch.join("\n"))
  })

  test("a cancelled slow fork: its model stream is closed, it does not report, status says cancelled", async (t) => {
    const session = await oc.createSession(`e2e ${Date.now()}`)
    await oc.promptAsync(session.id, cue({ mode: "fork", text: "Think for a minute\nDELAY 60000" }), "build")
    await oc.waitForIdle(session.id)
    const [branch] = await until(() => branchesTitled(oc, ["Think for a minute"]).then((found) => found.length && found))
    const stream = await until(() => mock.requests.find((r) => r.kind === "chat" && r.sessionID === branch.id), {
      describe: () => show(branch.id),
    })
    assert.equal(stream.closedAt, undefined, "the branch's model is still answering")

    const mark = oc.mark()
    await oc.promptAsync(session.id, cue({ mode: "cancel", session: branch.id }), "build")
    await oc.waitForIdle(session.id, { after: mark })
    const result = toolParts(await oc.messages(session.id)).at(-1)
    assert.equal(
      result.state.output,
      `Cancelled branch ${branch.id} "fork · build · Think for a minute": its turn was stopped and it will not report.`,
      await show(session.id),
    )
    await until(() => stream.closedAt !== undefined, { timeoutMs: 5_000 })
    assert.equal(stream.completed, false, "the stream was cut off, not answered")
    assert.ok(stream.closedAt - stream.at < 30_000)
    t.diagnostic(`the branch's model stream closed ${stream.closedAt - stream.at} ms after it opened, of a 60000 ms answer`)

    const statusMark = oc.mark()
    await oc.promptAsync(session.id, cue({ mode: "status" }), "build")
    await oc.waitForIdle(session.id, { after: statusMark })
    const status = toolParts(await oc.messages(session.id)).at(-1).state.output
    assert.ok(status.includes(`- "fork · build · Think for a minute" (${branch.id}, build) — cancelled`), status)
    assert.deepEqual(await notesOf(oc, session.id), [], "no report of a half-written answer")
  })

  test('a fork running bash under "bash": "ask" is announced within a second; status and its report say it waited', async (t) => {
    const session = await oc.createSession(`e2e ${Date.now()}`)
    const bash = JSON.stringify({ command: "echo steer", description: "Say steer" })
    await oc.promptAsync(session.id, cue({ mode: "fork", text: `Check the tree\nCALL bash ${bash}` }), "build")
    // OpenCode 1.0 announces a prompt as `permission.updated` with the tool as `type`.
    const asked = await oc.waitForEvent(
      (e) =>
        (e.type === "permission.asked" && e.properties.permission === "bash") ||
        (e.type === "permission.updated" && e.properties.type === "bash"),
    )
    const toast = await oc.waitForEvent((e) => e.type === "tui.toast.show" && e.properties.title === "A branch waits for you", 5_000, {
      after: asked,
    })
    assert.ok(toast.at - asked.at < 1_000, `announced ${toast.at - asked.at} ms after OpenCode asked`)
    t.diagnostic(`announced ${toast.at - asked.at} ms after permission.asked`)
    const branch = asked.properties.sessionID
    // What is asked, as OpenCode names it: the command, or on 1.0 the pattern an "always" would allow.
    const what = asked.type === "permission.updated" ? String.raw`bash \(echo steer \*\)` : String.raw`bash \(echo steer\)`
    assert.match(
      toast.properties.message,
      new RegExp(
        `^Branch "fork · build · Check the tree" \\(${branch}\\) asks: ${what}\\. Open it from /sessions to answer; it waits until someone does\\.$`,
      ),
    )

    await oc.waitForIdle(session.id)
    const statusMark = oc.mark()
    await oc.promptAsync(session.id, cue({ mode: "status" }), "build")
    await oc.waitForIdle(session.id, { after: statusMark })
    const status = toolParts(await oc.messages(session.id)).at(-1).state.output
    assert.match(
      status,
      new RegExp(`\\(${branch}, build\\) — running for \\d+ s, \\d+ steps?, now waiting \\d+ s for a person to answer: ${what}`),
      status,
    )

    await oc.api("POST", `/session/${branch}/permissions/${asked.properties.id}`, { response: "once" })
    const report = await until(async () => (await notesOf(oc, session.id)).find((n) => n.startsWith("[Branch finished]")), {
      describe: () => show(branch),
    })
    assert.match(report, new RegExp(`\n\nIt waited \\d+ s for a person to answer: ${what}\\.\n\n\\[build\\] done: `), report)
  })
})
