// `opencode run` with the plugin: run sends one prompt and exits at its
// session's first idle, so every hand-off a run starts must be answered
// before then. Each test runs the real binary once against the scripted
// model and checks what run printed and what the model was asked.

import assert from "node:assert/strict"
import { after, before, describe, test } from "node:test"
import { startMockModel } from "./mock-model.mjs"
import { runOpencode } from "./run.mjs"
import { cue } from "./transcript.mjs"

const verbose = process.env.E2E_VERBOSE === "1"
const log = verbose ? (line) => process.stderr.write(`${line}\n`) : undefined

describe("opencode run", { timeout: 400_000 }, () => {
  let mock

  before(async () => {
    mock = await startMockModel({ log })
  })

  after(() => mock?.close())

  /** Runs `message` with build; returns the run and the chat requests the model got meanwhile. */
  async function run(message) {
    const from = mock.requests.length
    const result = await runOpencode({ message, modelUrl: mock.url })
    const chats = mock.requests.slice(from).filter((request) => request.kind === "chat")
    const shown = `exit ${result.code}${result.timedOut ? " (killed: timed out)" : ""} after ${result.ms} ms\nstdout:\n${result.stdout}\nrequests:\n${chats
      .map((request) => `${request.agent} ← ${request.lastRole}: ${JSON.stringify(request.lastUserText)}`)
      .join("\n")}\nstderr (end):\n${result.stderr.slice(-3000)}`
    assert.equal(result.code, 0, shown)
    return { ...result, chats, shown }
  }

  /** `[agent, role of the last message]` of each request, in order. */
  const turns = (chats) => chats.map((request) => [request.agent, request.lastRole])

  test("message: a chain build → plan → build is answered before run exits, each turn once", async () => {
    const back = cue({ mode: "message", agent: "build", text: "Back to build" })
    const { stdout, chats, shown } = await run(cue({ mode: "message", agent: "plan", text: back }))
    assert.deepEqual(
      turns(chats),
      [
        ["build", "user"],
        ["build", "tool"],
        ["plan", "user"],
        ["plan", "tool"],
        ["build", "user"],
      ],
      shown,
    )
    assert.equal(chats[2].lastUserText, back, shown)
    assert.equal(chats[4].lastUserText, "Back to build", shown)
    const lines = stdout.trim().split("\n")
    assert.equal(lines.length, 3, shown)
    assert.match(
      lines[0],
      /^\[build\] done: Queued as relay #\d+ for plan: this OpenCode \(`opencode run`\) exits when your turn ends/,
      shown,
    )
    assert.match(lines[1], /^\[plan\] done: Queued as relay #\d+ for build: /, shown)
    assert.equal(lines[2], "[build] got: Back to build", shown)
  })

  test("compact: the session is summarized and plan answers on the summary before run exits", async () => {
    const from = mock.requests.length
    const { stdout, chats, shown } = await run(cue({ mode: "compact", agent: "plan", text: "Go on from the summary" }))
    const summaries = mock.requests.slice(from).filter((request) => request.kind === "compaction")
    assert.equal(summaries.length, 1, shown)
    assert.deepEqual(
      turns(chats),
      [
        ["build", "user"],
        ["build", "tool"],
        ["plan", "user"],
      ],
      shown,
    )
    assert.equal(chats[2].lastUserText, "[Session compacted — build handed over to plan]\nGo on from the summary", shown)
    const summary = summaries[0].reply.text
    assert.ok(summaries[0].at < chats[2].at, "plan answers after the summary")
    assert.match(stdout, /^\[build\] done: Queued as relay #\d+: this OpenCode \(`opencode run`\) exits when your turn ends/, shown)
    assert.ok(stdout.includes(`\n${summary}\n`), shown)
    assert.ok(stdout.trimEnd().endsWith("[plan] got: [Session compacted — build handed over to plan]\nGo on from the summary"), shown)
  })

  test("fork and new: both branches run to their end and their reports are the calls' results", async () => {
    const message = cue({ mode: "fork", agent: "plan", text: "Try approach A" }, { mode: "new", agent: "build", text: "Research B" })
    const { stdout, chats, shown } = await run(message)
    // The two branch turns run at once, in either order; build's reply to the results comes last.
    assert.equal(chats.length, 4, shown)
    assert.deepEqual(turns(chats.slice(0, 1)), [["build", "user"]], shown)
    assert.deepEqual(
      chats
        .slice(1, 3)
        .map((request) => `${request.agent}: ${request.lastUserText}`)
        .sort(),
      ["build: Research B", "plan: Try approach A"],
      shown,
    )
    assert.deepEqual(turns(chats.slice(3)), [["build", "tool"]], shown)
    const [fork, fresh] = chats[3].toolResults.map((result) => result.content)
    assert.match(fork, /^\[Branch finished\] "fork · plan · Try approach A" \(ses_\w+, plan\)\n\n\[plan\] got: Try approach A\n/, shown)
    assert.match(fresh, /^\[Branch finished\] "new · build · Research B" \(ses_\w+, build\)\n\n\[build\] got: Research B\n/, shown)
    assert.match(stdout, /^\[build\] done: \[Branch finished\] "fork · plan · Try approach A" .*\n\n\[plan\] got: Try approach A\n/, shown)
  })
})
