// JSON shapes exchanged with the native relay engine (see index.d.ts).

export type Mode = "message" | "new" | "compact" | "fork" | "status"

export interface ToolCallInput {
  sessionId: string
  messageId: string
  callerAgent: string
  mode: Mode | string
  text: string
  agent?: string | null
}

export type Request =
  | { op: "listAgents" }
  | { op: "createSession"; title: string }
  | { op: "forkSession"; sessionId: string; messageId: string }
  | { op: "prompt"; sessionId: string; agent: string; parts: string[] }
  | { op: "lastUserModel"; sessionId: string }
  | { op: "summarize"; sessionId: string; providerId: string; modelId: string }
  | { op: "askPermission"; call: number; pattern: string }
  | { op: "renameSession"; sessionId: string; title: string }
  | { op: "selectSession"; sessionId: string }
  | { op: "lastAnswer"; sessionId: string }
  | { op: "note"; sessionId: string; agent: string; text: string }

export type Action =
  | { type: "request"; id: number; timeoutMs: number; request: Request }
  | { type: "replyToTool"; call: number; ok: boolean; text: string }
  | { type: "toast"; variant: "info" | "success" | "warning" | "error"; title: string; message: string }
  | { type: "log"; level: "debug" | "info" | "warn" | "error"; message: string }

export interface AgentSummary {
  name: string
  mode: string
  hidden?: boolean
}

export type Outcome =
  | { type: "done" }
  | { type: "agents"; agents: AgentSummary[] }
  | { type: "session"; id: string; title: string }
  | { type: "model"; providerId: string; modelId: string }
  | { type: "answer"; text: string; error?: string | null }
  | { type: "failed"; message: string; cause?: FailureCause }

/**
 * - `unreachable`: the request never reached OpenCode; safe to send again.
 * - `unavailable`: a passing server error (HTTP 408, 429, 5xx); it may have taken effect.
 * - `refused`: anything else; sending it again would fail the same way.
 */
export type FailureCause = "unreachable" | "unavailable" | "refused"

/** What the engine holds (`RelayEngine.stats()`). */
export interface EngineStats {
  /** Hand-offs not yet delivered or reported. */
  relaysPending: number
  /** `session` tool calls waiting for their result. */
  toolCallsPending: number
  /** Requests to OpenCode in flight, timers and retry pauses included. */
  requestsInFlight: number
  /** Branch sessions whose turn has not been reported yet. */
  branchesRunning: number
  /** Sessions the engine remembers anything about. */
  sessionsRemembered: number
}

/** A hand-off not yet delivered, as kept on disk (`RelayEngine.pollJournal()`). */
export interface PendingHandOff {
  sessionId: string
  /** Its number in the tool's result ("relay #4"). */
  relay: number
  mode: "message" | "compact"
  callerAgent: string
  agent: string
  text: string
}
