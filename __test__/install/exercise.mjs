// Copied into an install directory and run there (by Node, or by the Bun that
// OpenCode embeds) with the file URL of __test__/fake-client.mjs as argument:
// loads the installed opencode-sessions by name, calls the `server` of
// `opencode-sessions/server` as OpenCode 1.14+ does, and drives the `session`
// tool with a fake client.
// Prints one JSON line: what happened, or { error } when the plugin failed to load.

const { fakeClient, idleEvent, settle, status, toolContext } = await import(process.argv[2])

let hooks
const fake = fakeClient()
const { default: plugin } = await import("opencode-sessions/server")
try {
  hooks = await plugin.server({ client: fake.client, directory: process.cwd(), worktree: process.cwd() })
} catch (error) {
  console.log(JSON.stringify({ error: error.message }))
  process.exit(2)
}

const context = toolContext("ses_1", "build")
const started = await hooks.tool.session.execute({ text: "Research rate limiting", mode: "new", agent: "plan" }, context)
const queued = await hooks.tool.session.execute({ text: "Review the auth module", mode: "message", agent: "plan" }, context)
const promptsBeforeIdle = fake.of("session.promptAsync").length
await hooks.event({ event: status("ses_1", "idle") })
await hooks.event({ event: idleEvent("ses_1") })
await settle()

console.log(
  JSON.stringify({
    versions: process.versions,
    id: plugin.id,
    started,
    queued,
    promptsBeforeIdle,
    prompts: fake.of("session.promptAsync").map((call) => ({ session: call.options.path.id, ...call.options.body })),
  }),
)
