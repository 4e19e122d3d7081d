// Permission checks of a `session` call through the calling tool's `ctx.ask`.
// OpenCode 1.1–1.3 and 1.15+ give plugin tools an `ask` that returns a
// promise. OpenCode 1.14 gives them one that returns an effect of its own
// runtime, which nothing runs there: no rule is checked and no person asked.
// On such a host the call runs only when the config could not have refused it
// (the rules are weighed in ../permission-rules.js, shared with OpenCode 2).

import { rulesBeyondAllow, rulesReason, uncheckedRefusal } from "../permission-rules.js"

/**
 * Asks OpenCode's permission system through the tool's `ctx.ask`, which
 * resolves when the rules (or a person) allow and throws when they refuse.
 * Returns the outcome for the engine, and the refusal as OpenCode threw it.
 * @param {(input: {permission: string, patterns: string[], always: string[], metadata: object}) => unknown} ask
 * @param {string} pattern
 * @param {() => Promise<import("../../../index.js").JsOutcome>} [unchecked] decides when `ask` checks nothing
 * @returns {Promise<{outcome: import("../../../index.js").JsOutcome, error?: unknown}>}
 */
export async function askPermission(ask, pattern, unchecked = allowUnchecked) {
  try {
    const pending = ask({ permission: "session", patterns: [pattern], always: [pattern], metadata: {} })
    if (typeof pending?.then !== "function") return { outcome: await unchecked() }
    await pending
    return { outcome: { type: "done" } }
  } catch (error) {
    return { outcome: { type: "failed", message: error?.message ?? String(error), cause: "refused" }, error }
  }
}

const allowUnchecked = async () => ({ type: "done" })

/**
 * What to do with calls whose `ask` checks nothing, read once from the
 * project's config: they run as under OpenCode's default `allow` unless a
 * rule that could apply to `session` says anything else, then they are refused.
 * @param {import("@opencode-ai/plugin").PluginInput["client"]} client
 * @returns {() => Promise<import("../../../index.js").JsOutcome>}
 */
export function createUncheckedPolicy(client) {
  let verdict
  return () => {
    verdict ??= readVerdict(client).catch((error) => {
      verdict = undefined // a later call reads the config again
      return refused(`its config could not be read (${error?.message ?? error})`)
    })
    return verdict
  }
}

async function readVerdict(client) {
  const result = await client.config.get()
  if (result?.error !== undefined) throw new Error(JSON.stringify(result.error).slice(0, 200))
  const found = configRulesBeyondAllow(result?.data ?? result)
  if (found.length === 0) return { type: "done" }
  return refused(rulesReason("the config", found))
}

const refused = (reason) => uncheckedRefusal("its ctx.ask runs no check", reason, "OpenCode 1.15 and later check them.")

/**
 * The rules of a config that could answer a `session` call with anything
 * but `allow`: a permission given as one action, or the entries whose key
 * matches `session` (`*`, `session`, …), at the top level and in each agent.
 * @param {any} config
 * @returns {string[]} each as `where: pattern → action`
 */
export function configRulesBeyondAllow(config) {
  const sources = [["permission", config?.permission]]
  for (const [name, agent] of Object.entries(config?.agent ?? {})) sources.push([`agent.${name}.permission`, agent?.permission])
  /** @type {import("../permission-rules.js").PermissionRule[]} */
  const rules = []
  for (const [where, permission] of sources) {
    if (typeof permission === "string") {
      rules.push({ where, action: null, pattern: null, effect: permission })
      continue
    }
    for (const [action, rule] of Object.entries(permission ?? {})) {
      if (typeof rule === "string") rules.push({ where, action, pattern: null, effect: rule })
      else if (rule && typeof rule === "object") {
        for (const [pattern, effect] of Object.entries(rule)) rules.push({ where, action, pattern, effect: String(effect) })
      }
    }
  }
  return rulesBeyondAllow(rules)
}
