// The permission check of each hand-off through the OpenCode 2 adapter,
// against the model of OpenCode 2's plugin API (fake-opencode-2.mjs): asked
// through `ctx.permission.assert` where the build has it, else weighed from
// the agents' rules, else not checked at all.

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

const ASK_MESSAGES = { action: "session", resource: "message → *", effect: "ask" }
const handOff = cue({ mode: "message", agent: "plan", text: "review it" })
const answer = (sessionID) => oc.until(() => oc.transcript(sessionID).find((line) => line.startsWith("build: [build] ")))
const delivered = (sessionID) => oc.until(() => oc.transcript(sessionID).includes("plan: [plan] got: review it"))
const asked = () => oc.until(() => oc.events.find((event) => event.type === "permission.v2.asked"))

/** The refused hand-off's answer; nothing reached plan. */
async function refused(sessionID) {
  const line = await answer(sessionID)
  await oc.until(() => oc.idle(sessionID))
  await new Promise((resolve) => setTimeout(resolve, 50))
  assert.ok(!oc.transcript(sessionID).some((entry) => entry.startsWith("user → plan")), oc.transcript(sessionID).join("\n"))
  return line
}

describe("permission checks of hand-offs on OpenCode 2 (model)", () => {
  describe("with ctx.permission.assert", () => {
    test("each hand-off is asserted with its own pattern, and runs when the rules allow it", async () => {
      await boot({ assert: true })
      const sessionID = await oc.startTurn(handOff)
      await delivered(sessionID)
      const call = oc.calls.find((c) => c.name === "permission.assert")
      assert.deepEqual(call.input, {
        sessionID,
        agent: "build",
        action: "session",
        resources: ["message → plan"],
        save: ["message → plan"],
        metadata: {},
      })
      assert.ok(!oc.events.some((event) => event.type === "permission.v2.asked"), "allowed without asking")
    })

    test("an `ask` rule asks a person; the hand-off runs once they allow it", async () => {
      await boot({ assert: true, rules: [ASK_MESSAGES] })
      const sessionID = await oc.startTurn(handOff)
      const request = await asked()
      assert.deepEqual(request.data.resources, ["message → plan"])
      await new Promise((resolve) => setTimeout(resolve, 50))
      assert.ok(!oc.transcript(sessionID).some((line) => line.startsWith("build: [build] ")), "the call waits for the person")
      oc.replyPermission(request.data.id, "once")
      await delivered(sessionID)
    })

    test("a person who refuses stops the hand-off, in the engine's words with OpenCode's reason", async () => {
      await boot({ assert: true, rules: [ASK_MESSAGES] })
      const sessionID = await oc.startTurn(handOff)
      oc.replyPermission((await asked()).data.id, "reject")
      const line = await refused(sessionID)
      assert.match(line, /Permission "session" refused "message → plan": Permission\.DeclinedError Nothing was sent\./)
    })

    test("a refusal with the person's words carries them; a deny rule refuses without asking", async () => {
      await boot({
        assert: true,
        rules: [ASK_MESSAGES],
        agentRules: { build: [{ action: "session", resource: "message → review", effect: "deny" }] },
      })
      const corrected = await oc.startTurn(handOff)
      oc.replyPermission((await asked()).data.id, "reject", "not now, plan is busy")
      assert.match(await refused(corrected), /refused "message → plan": Permission\.CorrectedError: not now, plan is busy/)
      const denied = await oc.startTurn(cue({ mode: "message", agent: "review", text: "x" }))
      assert.match(await answer(denied), /refused "message → review": Permission\.BlockedError: Permission denied: session/)
      assert.equal(oc.events.filter((event) => event.type === "permission.v2.asked").length, 1, "the deny asked nobody")
    })
  })

  describe("without it, from the agents' rules", () => {
    test("OpenCode 2's default rules allow every hand-off: it runs", async () => {
      await boot()
      const sessionID = await oc.startTurn(handOff)
      await delivered(sessionID)
      assert.ok(oc.calls.filter((c) => c.name === "agent.list").length >= 2, "the rules were read")
    })

    test("a rule that could say anything but allow refuses every hand-off, naming the rule", async () => {
      await boot({ agentRules: { build: [ASK_MESSAGES] } })
      const sessionID = await oc.startTurn(handOff)
      const line = await refused(sessionID)
      assert.match(
        line,
        /refused "message → plan": this OpenCode cannot check a plugin tool against permission rules \(its plugin API has no ctx\.permission\.assert to ask with\), and agent build sets permission rules that may apply to it \(agent\.build\.permissions\.session "message → \*": ask\), so the hand-off is refused rather than run unchecked\. Nothing was sent\./,
      )
      // The rules are read again for each hand-off: without that rule, the next one runs.
      oc.agents.find((agent) => agent.id === "build").permissions.pop()
      const other = await oc.startTurn(handOff)
      await delivered(other)
    })
  })

  test("where the agents carry no rules, nothing can be checked: the hand-off runs as OpenCode 2 runs plugin tools", async () => {
    await boot({ agentPermissions: false })
    const sessionID = await oc.startTurn(handOff)
    await delivered(sessionID)
    assert.deepEqual(oc.stderr, [])
  })
})
