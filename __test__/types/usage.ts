// Compiled by `tsc -p __test__/types` in the test run: the published types
// must describe the plugin as users and OpenCode use it.
import type { Hooks, Plugin, PluginModule } from "@opencode-ai/plugin"
import plugin, { createPlugin, type SessionsOptions, type SessionToolArgs } from "opencode-sessions"
import { RelayEngine } from "../../index.js"
import type { Action } from "../../lib/engine-types.js"

const args: SessionToolArgs = { text: "Review the auth module", mode: "message", agent: "plan" }
const options: SessionsOptions = {
  maxHops: 4,
  modes: ["message", "fork"],
  agents: ["build", "plan"],
  switchTo: ["new"],
  report: "all",
  resumeParent: true,
  requestTimeoutMs: 10_000,
}
const status: SessionToolArgs = { mode: "status" }
// @ts-expect-error switchTo takes only the branch modes
const badSwitch: SessionsOptions = { switchTo: ["message"] }
const asPlugin: Plugin = createPlugin
const asModule: PluginModule = plugin

// @ts-expect-error an unknown mode is a type error
const wrong: SessionToolArgs = { text: "x", mode: "teleport" }

const engine = new RelayEngine({ requestTimeoutMs: 1000 })
const actions: Action[] = engine.pollActions()
for (const action of actions) {
  if (action.type === "request" && action.request.op === "prompt") {
    const parts: string[] = action.request.parts
    void parts
  }
}

async function load(hooks: Promise<Hooks>) {
  const tools = (await hooks).tool
  void tools
}
void [args, options, status, badSwitch, asPlugin, asModule, wrong, load]
