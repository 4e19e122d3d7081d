// What the OpenCode 2 adapter does with each shape of context it may be
// given: the 2.0.x builds' differences (fake-opencode-2.mjs names the sources
// of each), OpenCode 1.18's reduced setup pass, and contexts it cannot use.

import assert from "node:assert/strict"
import { describe, test } from "node:test"
import { RelayEngine } from "../../index.js"
import { probe } from "../../lib/hosts/opencode-v2/capabilities.js"
import { setup } from "../../lib/hosts/opencode-v2.js"
import * as serverModule from "../../server.js"
import { cue, FakeOpencode2, isolateState, modelPerTest } from "./fake-opencode-2.mjs"

const model = modelPerTest(serverModule)
/** The model of the running test. */
let oc
const boot = async (options) => {
  oc = await model(options)
  return oc
}

const offered = () => oc.tools.get("session").input.properties.mode.enum

/** Runs `fn` with console.error captured; returns what it wrote. */
async function stderrOf(fn) {
  const lines = []
  const original = console.error
  console.error = (...args) => lines.push(args.join(" "))
  try {
    return { result: await fn(), lines }
  } finally {
    console.error = original
  }
}

describe("capabilities of OpenCode 2 builds, probed at setup", () => {
  test("no fork in the plugin API and no server address: fork is neither offered nor accepted, and the refusal names the lack", async () => {
    await boot({ build: "latest" })
    assert.deepEqual(offered(), ["message", "new", "compact", "status", "cancel"])
    assert.doesNotMatch(oc.tools.get("session").description, /- fork:/)
    const sessionID = await oc.startTurn(cue({ mode: "fork", agent: "plan", text: "x" }))
    const answer = await oc.until(() => oc.transcript(sessionID).find((line) => line.startsWith("build: ")))
    assert.match(
      answer,
      /this OpenCode lacks a way to fork a session from a plugin \(ctx\.session\.fork, or the server address in ctx\.app\.server\)/,
    )
    assert.match(answer, /Modes you can use: message, new, compact\. Nothing was sent\.$/)
    assert.equal(oc.sessions.size, 1)
  })

  test("a build with `rename` and no `compact`: compact is left out without the server, and reached through it with the host's password", async () => {
    await boot({ build: "rename" })
    assert.deepEqual(offered(), ["message", "new", "status", "cancel"])
    await oc.stop()

    await boot({ build: "rename", server: true })
    assert.deepEqual(offered(), ["message", "new", "compact", "fork", "status", "cancel"])
    const sessionID = await oc.startTurn(cue({ mode: "compact", agent: "plan", text: "on the summary" }))
    await oc.until(() => oc.transcript(sessionID).some((line) => line.startsWith("plan: ") && line.endsWith("on the summary")))
    assert.ok(oc.calls.some((c) => c.name === `http POST /api/session/${sessionID}/compact`))
    // Fork titles go through `rename`, the build's name for it.
    const parent = await oc.startTurn(cue({ mode: "fork", agent: "plan", text: "try" }, { mode: "fork", text: "other" }))
    await oc.until(() => oc.calls.filter((c) => c.name === "session.rename").length >= 2)
    const titles = [...oc.sessions.values()].filter((s) => s.parentID === parent).map((s) => s.title)
    assert.deepEqual(titles.sort(), ["fork 1/2 · plan · try", "fork 2/2 · build · other"])
  })

  test("a context without what every mode needs logs one clear line and registers nothing", async () => {
    isolateState()
    oc = new FakeOpencode2({ build: "early" })
    await oc.load(serverModule)
    assert.equal(oc.tools.size, 0)
    assert.equal(oc.subscribers.size, 0, "no event subscription")
    assert.deepEqual(oc.stderr, [
      "[opencode-sessions] error: the plugin context this OpenCode passed has no ctx.session.switchAgent; the session tool is not registered",
    ])
    for (const [odd, kind] of [
      [null, "null"],
      [42, "number"],
    ]) {
      const { result, lines } = await stderrOf(() => setup(odd))
      assert.equal(result, undefined)
      assert.deepEqual(lines, [
        `[opencode-sessions] error: the plugin context this OpenCode passed has no members at all (it is ${kind}); the session tool is not registered`,
      ])
    }
  })

  test("OpenCode 1.18's reduced setup context (no tool, session or event): nothing is done and nothing is said", async () => {
    // The keys 1.18.33 passes, as measured on its binary (see opencode-1.18.test.mjs).
    const reduced = Object.fromEntries(
      ["options", "agent", "aisdk", "catalog", "command", "integration", "plugin", "reference", "skill"].map((key) => [key, {}]),
    )
    assert.equal(probe(reduced).shape, "reduced")
    const { result, lines } = await stderrOf(() => setup(reduced))
    assert.equal(result, undefined)
    assert.deepEqual(lines, [])
  })

  test("a wrong option keeps the tool off with the engine's message naming it", async () => {
    isolateState()
    oc = new FakeOpencode2({ options: { maxhops: 3 } })
    await assert.rejects(oc.load(serverModule), /invalid option "maxhops": is not an option \(did you mean "maxHops"\?\)/)
    assert.equal(oc.tools.size, 0)
    assert.ok(oc.stderr.some((line) => line.includes('invalid option "maxhops"')))
  })

  test("a build without ctx.session.interrupt: cancel is neither offered nor accepted, and the refusal names the lack", async () => {
    isolateState()
    oc = new FakeOpencode2({ server: true })
    const context = oc.context()
    delete context.session.interrupt
    const found = probe(context)
    assert.deepEqual(
      found.limits.filter((limit) => limit.mode === "cancel"),
      [{ mode: "cancel", lacks: "a way to stop a session's turn from a plugin (ctx.session.interrupt)" }],
    )
    const engine = new RelayEngine(null, found.limits)
    assert.ok(!engine.enabledModes().includes("cancel"), engine.enabledModes().join())
    assert.ok(engine.enabledModes().includes("status"))
    assert.ok(engine.toolText().session, "a follow-up still names a branch")
    const call = { sessionId: "s", messageId: "m", callerAgent: "build", mode: "cancel", text: "", session: "ses_b" }
    const { drain } = JSON.parse(engine.toolCall(0, call))
    const reply = drain.actions.find((action) => action.type === "replyToTool")
    assert.equal(reply.ok, false)
    assert.match(reply.text, /^Mode "cancel" is not available here: this OpenCode lacks a way to stop a session's turn from a plugin/)
  })

  test("the engine's constructor takes the host's limits and refuses a list it cannot read, naming it", () => {
    const engine = new RelayEngine(null, [{ mode: "compact", lacks: "a way to compact" }])
    assert.deepEqual(engine.enabledModes(), ["message", "new", "fork", "status", "cancel"])
    assert.deepEqual(new RelayEngine(null).enabledModes(), ["message", "new", "compact", "fork", "status", "cancel"])
    assert.deepEqual(new RelayEngine(undefined, undefined).enabledModes(), ["message", "new", "compact", "fork", "status", "cancel"])
    assert.throws(() => new RelayEngine(null, [{ mode: "status", lacks: "x" }]), /malformed host limits: "status" is not a hand-off mode/)
    assert.throws(() => new RelayEngine(null, { mode: "fork" }), /malformed host limits: expected an array/)
  })
})
