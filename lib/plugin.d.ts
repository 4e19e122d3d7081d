import type { Hooks, PluginInput } from "@opencode-ai/plugin"
import type { JsSessionsOptions } from "../index.js"

// Generated from the Rust types by `napi build` (index.d.ts).
export type {
  JsSessionMode as SessionMode,
  JsSessionsOptions as SessionsOptions,
  JsSessionToolArgs as SessionToolArgs,
  JsToolMode as ToolMode,
} from "../index.js"

/** The plugin: adds the `session` tool and relays hand-offs when turns end. */
export declare function createPlugin(input: PluginInput, options?: JsSessionsOptions): Promise<Hooks>
