// Proves the e2e harness (mock model + opencode driver) works, with no plugin loaded.
// Run: node --test __test__/e2e/harness.test.mjs

import assert from "node:assert/strict"
import { after, before, describe, test } from "node:test"

import { startMockModel } from "./mock-model.mjs"
import { startOpencode } from "./opencode.mjs"

const verbose = process.env.E2E_VERBOSE === "1"
const log = verbose ? (line) => process.stderr.write(`${line}\n`) : undefined

describe("e2e harness without plugin", { timeout: 120_000 }, () => {
  let mock
  let oc

  before(async () => {
    mock = await startMockModel({ log })
    oc = await startOpencode({
      pluginPath: null,
      modelUrl: mock.url,
      agents: ["review", { name: "helper", mode: "subagent" }],
      log,
    })
  })

  after(async () => {
    await oc?.stop()
    await mock?.close()
  })

  test("boots with the mock provider and test agents, no plugin errors", { timeout: 20_000 }, async () => {
    assert.match(oc.url, /^http:\/\/127\.0\.0\.1:\d+$/)
    assert.deepEqual(oc.pluginErrors, [])
    const agents = await oc.agents()
    const byName = Object.fromEntries(agents.map((a) => [a.name, a]))
    for (const name of ["build", "plan", "review", "helper"]) assert.ok(byName[name], `agent ${name} listed`)
    assert.equal(byName.helper.mode, "subagent")
    assert.match(byName.plan.prompt ?? "", /AGENT=plan/)
  })

  test("prompt_async with agent plan is answered by the mock as plan", { timeout: 60_000 }, async () => {
    const session = await oc.createSession()
    assert.match(session.id, /^ses_/)

    const text = "Please outline the plan for the harness check"
    await oc.promptAsync(session.id, text, "plan")
    await oc.waitForIdle(session.id)

    const msgs = await oc.messages(session.id)
    const assistant = msgs.filter((m) => m.info.role === "assistant")
    assert.equal(assistant.length, 1, "one assistant message")
    assert.equal(assistant[0].info.agent, "plan")
    const reply = assistant[0].parts
      .filter((p) => p.type === "text")
      .map((p) => p.text)
      .join("")
    assert.equal(reply, `[plan] got: ${text}`)

    const chats = mock.requests.filter((r) => r.kind === "chat" && r.sessionID === session.id)
    assert.equal(chats.length, 1, "one chat request for the session")
    assert.equal(chats[0].agent, "plan")
    assert.equal(chats[0].lastUserText, text)

    // title generation used the same mock model; the title may land a little after idle
    const titled = await oc.waitForEvent(
      (e) =>
        // Releases before 1.14 name the session only in properties.info.
        e.type === "session.updated" &&
        (e.properties.sessionID ?? e.properties.info?.id) === session.id &&
        e.properties.info?.title === "Please outline the plan for",
      10_000,
      { label: "generated title" },
    )
    assert.ok(titled)
    assert.ok(mock.requests.some((r) => r.kind === "title" && r.sessionID === session.id))
    assert.ok((await oc.sessions()).some((s) => s.id === session.id))
  })

  test("DELAY <ms> cue delays the model reply", { timeout: 60_000 }, async () => {
    const session = await oc.createSession("delay check")
    const text = "take your time\nDELAY 300"
    const sentAt = Date.now()
    await oc.promptAsync(session.id, text, "build")
    await oc.waitForIdle(session.id)
    const idleAt = Date.now()

    const chat = mock.requests.find((r) => r.kind === "chat" && r.sessionID === session.id)
    assert.ok(chat, "chat request recorded")
    assert.equal(chat.agent, "build")
    assert.equal(chat.delayMs, 300)
    assert.ok(chat.respondedAt - chat.at >= 300, `mock held the reply ${chat.respondedAt - chat.at} ms`)

    const msgs = await oc.messages(session.id)
    const assistant = msgs.find((m) => m.info.role === "assistant")
    const reply = assistant.parts
      .filter((p) => p.type === "text")
      .map((p) => p.text)
      .join("")
    assert.equal(reply, `[build] got: ${text}`.slice(0, "[build] got: ".length + 80))
    const took = assistant.info.time.completed - assistant.info.time.created
    assert.ok(took >= 300, `assistant message took ${took} ms (>= 300 expected)`)
    assert.ok(idleAt - sentAt >= 300, `idle after ${idleAt - sentAt} ms`)
  })
})
