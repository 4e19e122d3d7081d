// Permission checks of a `session` call through the calling tool's `ctx.ask`,
// and what happens on a host whose `ask` checks nothing (OpenCode 1.14).

import assert from "node:assert/strict"
import { test } from "node:test"
import { askPermission, configRulesBeyondAllow, createUncheckedPolicy } from "../lib/hosts/opencode-v1/permission.js"

test("a permission is asked with the pattern the user's rules match, and a refusal keeps OpenCode's words", async () => {
  const asked = []
  const allow = async (input) => void asked.push(input)
  assert.deepEqual(await askPermission(allow, "fork → plan"), { outcome: { type: "done" } })
  assert.deepEqual(asked, [{ permission: "session", patterns: ["fork → plan"], always: ["fork → plan"], metadata: {} }])
  const refusal = new Error("The user has specified a rule which prevents you from using this specific tool call.")
  const deny = async () => {
    throw refusal
  }
  assert.deepEqual(await askPermission(deny, "fork → plan"), {
    outcome: { type: "failed", message: refusal.message, cause: "refused" },
    error: refusal,
  })
})

/** A client whose config.get answers `config`, counting the reads. */
function configClient(config) {
  const client = {
    reads: 0,
    config: {
      get: async () => {
        client.reads++
        if (config instanceof Error) throw config
        return { data: config }
      },
    },
  }
  return client
}

// What 1.14.34's ctx.ask returns: an object of its effect runtime, no promise.
const effectAsk = () => ({ _op: "effect", pipe() {} })

test("an ask that returns no promise runs the call only when no rule could refuse it, reading the config once", async () => {
  const plain = configClient({ permission: { bash: "ask", session: "allow" }, agent: { plan: { permission: { edit: "deny" } } } })
  const policy = createUncheckedPolicy(plain)
  assert.deepEqual(await askPermission(effectAsk, "fork → plan", policy), { outcome: { type: "done" } })
  assert.deepEqual(await askPermission(effectAsk, "new → plan", policy), { outcome: { type: "done" } })
  assert.equal(plain.reads, 1)

  const ruled = configClient({ permission: { session: { "*": "allow", "fork → plan": "deny", "new → plan": "ask" } } })
  const { outcome } = await askPermission(effectAsk, "message → build", createUncheckedPolicy(ruled))
  assert.equal(outcome.type, "failed")
  assert.equal(outcome.cause, "refused")
  assert.match(outcome.message, /^this OpenCode cannot check a plugin tool against permission rules/)
  assert.match(outcome.message, /permission\.session "fork → plan": deny, permission\.session "new → plan": ask/)
})

test("an unreadable config refuses the call, and the next call reads it again", async () => {
  const broken = configClient(new Error("HTTP 500"))
  const policy = createUncheckedPolicy(broken)
  const { outcome } = await askPermission(effectAsk, "fork → plan", policy)
  assert.match(outcome.message, /its config could not be read \(HTTP 500\)/)
  await askPermission(effectAsk, "fork → plan", policy)
  assert.equal(broken.reads, 2)
})

test("the rules that could refuse a session call: one action for all, `*` and `session`, at the top and per agent", () => {
  assert.deepEqual(configRulesBeyondAllow({}), [])
  assert.deepEqual(configRulesBeyondAllow({ permission: "allow", agent: { plan: { permission: { "*": "allow" } } } }), [])
  assert.deepEqual(configRulesBeyondAllow({ permission: "ask" }), ["permission: ask"])
  assert.deepEqual(configRulesBeyondAllow({ permission: { "*": "deny", webfetch: "ask" } }), ["permission.*: deny"])
  assert.deepEqual(configRulesBeyondAllow({ agent: { plan: { permission: { session: { "new → *": "ask" } } } } }), [
    'agent.plan.permission.session "new → *": ask',
  ])
  // Keys are wildcards, as OpenCode matches them.
  assert.deepEqual(configRulesBeyondAllow({ permission: { "sess*": "ask", "s?": "deny" } }), ["permission.sess*: ask"])
})
