import type { Hooks, PluginInput } from "@opencode-ai/plugin"

/** A hand-off mode of the `session` tool. */
export type SessionMode = "message" | "new" | "compact" | "fork"

/**
 * Options from `"plugin": [["opencode-sessions", { ... }]]`. Every option is
 * checked when the plugin loads; a wrong or unknown one keeps the plugin from
 * loading, with a message naming it.
 */
export interface SessionsOptions {
  /**
   * Agent-to-agent hand-offs allowed in a session since a person last wrote
   * there; the next one is refused. `new` and `fork` branches start from
   * their parent's count plus one. Whole number from 1 to 1000. Default 8.
   */
  maxHops?: number
  /** Modes the tool offers; the others are neither shown to the model nor accepted. Default: all four. */
  modes?: SessionMode[]
  /** Agents a hand-off may go to. Default: every primary agent that is not hidden. */
  agents?: string[]
  /** Branch modes after which the TUI switches to the new session. Default: none. */
  switchTo?: Array<"new" | "fork">
  /**
   * What the session that opened branches (`new`, `fork`) hears back, as notes that start no turn:
   * `"each"` a report as each branch finishes plus a side-by-side summary once all branches of a
   * turn are done; `"all"` only the summary; `"off"` nothing. Default `"each"`.
   */
  report?: "each" | "all" | "off"
  /** Once all branches of a turn are done, the opening agent takes a turn on the summary (counts as a hop). Default false. */
  resumeParent?: boolean
  /** Time limit in ms for listing agents, creating or forking a session and sending a prompt. Default 15000. */
  requestTimeoutMs?: number
  /** Time limit in ms for summarizing a session in `compact` mode. Default 600000. */
  summarizeTimeoutMs?: number
  /** How long in ms a permission prompt may wait for a person. Default 3600000. */
  permissionTimeoutMs?: number
}

/** Arguments of the `session` tool. */
export interface SessionToolArgs {
  /** What the receiving agent should do, written as a user message. Required for every mode but `status`. */
  text?: string
  /**
   * - `message`: when the calling turn ends, `text` arrives in the same session, answered by `agent`.
   * - `new`: `agent` answers `text` in a fresh session without history; returns at once.
   * - `compact`: when the calling turn ends, the session is summarized, then `agent` answers `text`.
   * - `fork`: `agent` answers `text` in a copy of the session with its full history; returns at once.
   */
  mode: SessionMode | "status"
  /** Primary agent that answers; defaults to the calling agent. */
  agent?: string
}

/** The plugin: adds the `session` tool and relays hand-offs when turns end. */
export declare function createPlugin(input: PluginInput, options?: SessionsOptions): Promise<Hooks>

declare const plugin: { id: "opencode-sessions"; server: typeof createPlugin }
export default plugin
