// Hand-offs on a host that cannot check a plugin tool against its permission
// rules: OpenCode 1.14 (its `ctx.ask` runs no check) and OpenCode 2 builds
// whose plugin API has no `ctx.permission.assert`. Both read the rules that
// could apply and let a call run only when none could answer it with
// anything but `allow`; one list and one wording serve both.

/**
 * One rule as the hosts state it, reduced to what decides a `session` call.
 * @typedef {object} PermissionRule
 * @property {string} where where it is set, e.g. `agent.plan.permission`
 * @property {string | null} action the permission it names (`session`, `*`, …); null when the whole permission is one action
 * @property {string | null} pattern the pattern it matches; null for every pattern
 * @property {string} effect `allow`, `ask` or `deny`
 */

/**
 * Whether a rule's permission pattern can match the permission `session`:
 * OpenCode matches both with its wildcards (`*` any run, `?` one character).
 * @param {string} action
 */
export function namesSession(action) {
  const source = action
    .replace(/[.+^${}()|[\]\\]/g, "\\$&")
    .replaceAll("*", ".*")
    .replaceAll("?", ".")
  return new RegExp(`^${source}$`, "s").test("session")
}

/**
 * The rules that could answer a `session` call with anything but `allow`.
 * @param {PermissionRule[]} rules
 * @returns {string[]} each as `where.action "pattern": effect`
 */
export function rulesBeyondAllow(rules) {
  return rules.filter((rule) => rule.effect !== "allow" && (rule.action === null || namesSession(rule.action))).map(describeRule)
}

/** @param {PermissionRule} rule */
export function describeRule({ where, action, pattern, effect }) {
  return `${where}${action === null ? "" : `.${action}`}${pattern === null ? "" : ` "${pattern}"`}: ${effect}`
}

/**
 * The refusal of a hand-off that cannot be checked.
 * @param {string} lacks why this host cannot check, e.g. `its ctx.ask runs no check`
 * @param {string} reason why the call may not be allowed
 * @param {string} [remedy] what checks them instead
 * @returns {import("../../index.js").JsOutcome}
 */
export function uncheckedRefusal(lacks, reason, remedy) {
  return {
    type: "failed",
    cause: "refused",
    message: `this OpenCode cannot check a plugin tool against permission rules (${lacks}), and ${reason}, so the hand-off is refused rather than run unchecked.${remedy ? ` ${remedy}` : ""}`,
  }
}

/**
 * The reason of a refusal for `found` rules (see rulesBeyondAllow).
 * @param {string} source who sets them, e.g. `the config`
 * @param {string[]} found
 */
export const rulesReason = (source, found) => `${source} sets permission rules that may apply to it (${found.slice(0, 5).join(", ")})`

/** @returns {import("../../index.js").JsOutcome} a permission request whose tool call the driver no longer holds */
export const callGone = () => ({ type: "failed", message: "the tool call that asked is gone.", cause: "refused" })
