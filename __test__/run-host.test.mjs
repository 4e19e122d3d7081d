// The pieces of the OpenCode adapter for `opencode run`: how run is told
// from other commands, and the requester that counts a prompt or summary as
// done once OpenCode stored it.

import assert from "node:assert/strict"
import { test } from "node:test"
import { PLUGIN_MARK } from "../lib/hosts/opencode-v1/marker.js"
import { createStoringRequester, startedByRun, unwrapRelays } from "../lib/hosts/opencode-v1/run.js"

const argv = (...words) => ["bun", "/$bunfs/root/src/index.js", ...words]

test("run is the first word of the command line that is no option", () => {
  assert.equal(startedByRun(argv("run", "--agent", "build")), true)
  assert.equal(startedByRun(argv("--print-logs", "--log-level", "INFO", "run")), true)
  assert.equal(startedByRun(argv("serve", "--port", "0")), false)
  assert.equal(startedByRun(argv()), false, "the TUI")
  assert.equal(startedByRun(argv("/path/to/run")), false, "a project named by path")
  assert.equal(startedByRun(argv("--log-level", "run", "serve")), false, "an option's value is no command")
})

/** Messages as OpenCode lists them; `stored` grows as the test stores them. */
function storingClient() {
  const stored = []
  const client = {
    session: {
      async messages() {
        return { data: stored.slice(-10) }
      },
    },
  }
  return { client, stored }
}

const marked = (text) => ({ type: "text", text, metadata: { [PLUGIN_MARK]: true } })

test("a prompt is done once its parts are stored, not when OpenCode took the request", async () => {
  const { client, stored } = storingClient()
  const perform = createStoringRequester(client, async () => ({ type: "done" }))
  let done = false
  const outcome = perform({ op: "prompt", sessionId: "ses_1", agent: "plan", parts: ["note", "text"] }, 5_000).then((o) => {
    done = true
    return o
  })
  stored.push({ info: { id: "msg_1", role: "user" }, parts: [marked("note")] })
  await new Promise((resolve) => setTimeout(resolve, 80))
  assert.equal(done, false, "one part of two is stored")
  stored[0].parts.push(marked("text"))
  assert.deepEqual(await outcome, { type: "done" })
})

test("a summary is done once its compaction message is stored, though its request runs on", async () => {
  const { client, stored } = storingClient()
  stored.push({ info: { id: "msg_0", role: "user" }, parts: [{ type: "compaction" }] })
  const never = new Promise(() => {})
  const perform = createStoringRequester(client, (req) => (req.op === "summarize" ? never : Promise.resolve({ type: "done" })))
  const outcome = perform({ op: "summarize", sessionId: "ses_1", providerId: "p", modelId: "m" }, 5_000)
  await new Promise((resolve) => setTimeout(resolve, 60))
  stored.push({ info: { id: "msg_2", role: "user" }, parts: [{ type: "compaction" }] })
  assert.deepEqual(await outcome, { type: "done" }, "an earlier compaction does not count")
})

test("a refused summary fails at once, and a prompt never stored fails at its time limit", async () => {
  const { client } = storingClient()
  const refused = { type: "failed", message: "HTTP 400: no", cause: "refused" }
  const perform = createStoringRequester(client, async (req) => (req.op === "summarize" ? refused : { type: "done" }))
  assert.deepEqual(await perform({ op: "summarize", sessionId: "ses_1", providerId: "p", modelId: "m" }, 5_000), refused)
  const lost = await perform({ op: "prompt", sessionId: "ses_1", agent: "plan", parts: ["text"] }, 100)
  assert.equal(lost.type, "failed")
  assert.equal(lost.cause, "unavailable", "it may have been stored after all")
})

test("a relay OpenCode wrapped as a message that arrived mid-turn reaches the model as written", async () => {
  const wrap = (text) =>
    [
      "<system-reminder>",
      "The user sent the following message:",
      text,
      "",
      "Please address this message and continue with your tasks.",
      "</system-reminder>",
    ].join("\n")
  const person = { type: "text", text: wrap("typed by a person") }
  const messages = [
    { info: { role: "user" }, parts: [marked(wrap("line one\n\nline two")), person, marked("not wrapped")] },
    { info: { role: "assistant" }, parts: [marked(wrap("an assistant's"))] },
  ]
  await unwrapRelays({}, { messages })
  assert.deepEqual(
    messages[0].parts.map((part) => part.text),
    ["line one\n\nline two", wrap("typed by a person"), "not wrapped"],
  )
  assert.equal(messages[1].parts[0].text, wrap("an assistant's"), "only user messages")
})
