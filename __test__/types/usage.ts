// Compiled by `tsc -p __test__/types` in the test run: the published types
// must describe the plugin as users and OpenCode use it.
import type { Hooks, Plugin, PluginModule } from "@opencode-ai/plugin"
import { createPlugin, type SessionMode, type SessionsOptions, type SessionToolArgs, type ToolMode } from "opencode-sessions"
import plugin from "opencode-sessions/server"
import { type JsAction, type JsDrain, type JsOutcome, type JsToolCallStarted, modes, RelayEngine } from "../../index.js"

const args: SessionToolArgs = { text: "Review the auth module", mode: "message", agent: "plan" }
const options: SessionsOptions = {
  maxHops: 4,
  maxBranches: 2,
  modes: ["message", "fork"],
  agents: ["build", "plan"],
  switchTo: ["new"],
  report: "all",
  resumeParent: true,
  requestTimeoutMs: 10_000,
}
const status: SessionToolArgs = { mode: "status" }
const stop: SessionToolArgs = { mode: "cancel", session: "ses_branch" }
const followUp: SessionToolArgs = { mode: "message", session: "ses_branch", text: "Now add tests" }
// @ts-expect-error switchTo takes only the branch modes
const badSwitch: SessionsOptions = { switchTo: ["message"] }
const asPlugin: Plugin = createPlugin
const asModule: PluginModule = plugin

// @ts-expect-error an unknown mode is a type error
const wrong: SessionToolArgs = { text: "x", mode: "teleport" }

const engine = new RelayEngine({ requestTimeoutMs: 1000 })
// Outputs cross as JSON text of the generated types.
const json: string | null = engine.status(0, "ses_1", false)
const drain: JsDrain | null = json === null ? null : JSON.parse(json)
const actions: JsAction[] = drain?.actions ?? []
for (const action of actions) {
  if (action.type === "request" && action.request.op === "prompt") {
    const parts: string[] = action.request.parts
    void parts
  }
}
const started: JsToolCallStarted = JSON.parse(
  engine.toolCall(0, { sessionId: "s", messageId: "m", callerAgent: "build", mode: "fork", text: "x" }),
)
const call: number = started.call
const failed: JsOutcome = { type: "failed", message: "HTTP 500", cause: "unavailable" }
// @ts-expect-error a failure cause is one of three words
const badCause: JsOutcome = { type: "failed", message: "x", cause: "maybe" }
const all: ToolMode[] = modes()
const handOff: SessionMode = "compact"
// @ts-expect-error status hands nothing off
const notHandOff: SessionMode = "status"

async function load(hooks: Promise<Hooks>) {
  const tools = (await hooks).tool
  void tools
}
void [args, options, status, stop, followUp, badSwitch, asPlugin, asModule, wrong, load, call, failed, badCause, all, handOff, notHandOff]
