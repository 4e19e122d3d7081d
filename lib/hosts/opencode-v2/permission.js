// The permission check of a hand-off on OpenCode 2. Its tool registry only
// hides a tool whose permission is wholly denied; nothing asks before a
// plugin tool runs, so the check is the plugin's own, in the way this build
// allows:
// - `ctx.permission.assert`: OpenCode 2 weighs the caller's rules and asks a
//   person when they say `ask`; it resolves when allowed and throws when refused;
// - else, when the agents carry their rules (`Agent.Info.permissions`): the
//   call runs only when no rule could answer it with anything but `allow`,
//   as on OpenCode 1.14 (../permission-rules.js);
// - else nothing can be checked, and the call runs as OpenCode 2 runs every
//   plugin tool.

import { callGone, namesSession, rulesBeyondAllow, rulesReason, uncheckedRefusal } from "../permission-rules.js"
import { failure, payload } from "./requests.js"

const NO_ASSERT = "its plugin API has no ctx.permission.assert to ask with"

/**
 * @param {object} ctx OpenCode 2's plugin context
 * @returns {(pattern: string, call: {sessionID?: string, agent?: string} | undefined) => Promise<import("../../../index.js").JsOutcome>}
 */
export function createPermissionCheck(ctx) {
  const assert = ctx.permission?.assert
  if (typeof assert === "function") {
    return async (pattern, call) => {
      if (!call) return callGone()
      try {
        // `source` is left out: its keys changed between builds, and a key the schema does not take fails the call.
        await assert.call(ctx.permission, {
          sessionID: call.sessionID,
          agent: call.agent,
          action: "session",
          resources: [pattern],
          save: [pattern],
          metadata: {},
        })
        return { type: "done" }
      } catch (error) {
        return { ...failure(error), cause: "refused" }
      }
    }
  }
  return async (_pattern, call) => {
    try {
      return await checkRules(ctx, call)
    } catch (error) {
      return uncheckedRefusal(NO_ASSERT, `its rules could not be read (${failure(error).message})`)
    }
  }
}

async function checkRules(ctx, call) {
  const agents = payload(await ctx.agent.list({}))
  const list = Array.isArray(agents) ? agents : []
  // A build whose agents carry no rules gives nothing to check.
  if (!list.some((agent) => Array.isArray(agent?.permissions))) return { type: "done" }
  const agent = list.find((entry) => entry?.id === call?.agent)
  if (!Array.isArray(agent?.permissions)) {
    return uncheckedRefusal(NO_ASSERT, `the rules of agent ${call?.agent ?? "(none)"} could not be read`)
  }
  const rules = [...asRules(`agent.${agent.id}.permissions`, agent.permissions), ...(await sessionRules(ctx, call))]
  // OpenCode 2 asks when no rule matches, so a call with no rule for every pattern is not known to be allowed.
  const found = rulesBeyondAllow(rules)
  if (!rules.some((rule) => rule.effect === "allow" && rule.pattern === "*" && namesSession(rule.action))) {
    found.push(`agent.${agent.id}.permissions: no rule for every "session" pattern (OpenCode 2 asks then)`)
  }
  if (found.length === 0) return { type: "done" }
  return uncheckedRefusal(NO_ASSERT, rulesReason(`agent ${agent.id}`, found))
}

/** Session.Info.permissions, merged after the agent's as OpenCode 2 merges them. */
async function sessionRules(ctx, call) {
  if (typeof ctx.session.get !== "function" || typeof call?.sessionID !== "string") return []
  const info = payload(await ctx.session.get({ sessionID: call.sessionID }))
  return Array.isArray(info?.permissions) ? asRules(`session ${call.sessionID} permissions`, info.permissions) : []
}

/** OpenCode 2's rules `{action, resource, effect}`. */
function asRules(where, ruleset) {
  return ruleset.map((rule) => ({
    where,
    action: String(rule?.action ?? "*"),
    pattern: String(rule?.resource ?? "*"),
    effect: String(rule?.effect ?? "ask"),
  }))
}
