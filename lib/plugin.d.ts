import type { Hooks, PluginInput } from "@opencode-ai/plugin"

/** Options from `"plugin": [["opencode-sessions", { ... }]]`. */
export interface SessionsOptions {
  /** Time limit in ms for listing agents, creating or forking a session and sending a prompt. Default 15000. */
  requestTimeoutMs?: number
  /** Time limit in ms for summarizing a session in `compact` mode. Default 600000. */
  summarizeTimeoutMs?: number
}

/** Arguments of the `session` tool. */
export interface SessionToolArgs {
  /** What the receiving agent should do, written as a user message. */
  text: string
  /**
   * - `message`: when the calling turn ends, `text` arrives in the same session, answered by `agent`.
   * - `new`: `agent` answers `text` in a fresh session without history; returns at once.
   * - `compact`: when the calling turn ends, the session is summarized, then `agent` answers `text`.
   * - `fork`: `agent` answers `text` in a copy of the session with its full history; returns at once.
   */
  mode: "message" | "new" | "compact" | "fork"
  /** Primary agent that answers; defaults to the calling agent. */
  agent?: string
}

/** The plugin: adds the `session` tool and relays hand-offs when turns end. */
export declare function createPlugin(input: PluginInput, options?: SessionsOptions): Promise<Hooks>

declare const plugin: { id: "opencode-sessions"; server: typeof createPlugin }
export default plugin
