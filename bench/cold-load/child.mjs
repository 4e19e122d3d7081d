// One cold load, in a fresh process: import the plugin and call what OpenCode
// calls, until the hooks are returned. Prints {ms, sinceStart} as JSON.
//
//   node bench/cold-load/child.mjs ours|baseline|sdk
//
// `sdk` only imports @opencode-ai/plugin (and its zod), which both plugins
// import to declare their tool: the floor under either.

const started = performance.now()
const which = process.argv[2]
const server = await load(which)

// A client whose every method resolves at once; nothing is called while loading.
const client = new Proxy(() => {}, { get: (_target, key) => (key === "then" ? undefined : client), apply: async () => ({ data: true }) })
const hooks = which === "sdk" ? null : await server({ client, directory: process.cwd(), worktree: process.cwd() }, {})
const ended = performance.now()
if (which !== "sdk" && (typeof hooks?.tool?.session?.execute !== "function" || typeof hooks.event !== "function")) {
  throw new Error(`${which}: no session tool or event hook was returned`)
}
console.log(JSON.stringify({ ms: ended - started, sinceStart: ended }))

async function load(which) {
  switch (which) {
    case "ours":
      return (await import("../../server.js")).default.server
    case "baseline":
      return (await import("../baseline/plugin.mjs")).createBaselinePlugin
    case "sdk":
      return (await import("@opencode-ai/plugin")).tool
    default:
      throw new Error(`unknown plugin "${which}": ours, baseline or sdk`)
  }
}
