// The `session` tool as the model sees it. Only the modes the options leave
// on are offered, so a model is never shown a mode it may not use; `status`
// is always there when `new` or `fork` is.
//
// The arguments are plain JSON Schema rather than zod: loading zod would cost
// more than the rest of the plugin's start-up together. OpenCode then sends
// the schema as written and checks nothing; the native engine checks every
// argument and says what is wrong.

const INTRO = "Hand work to an agent (yourself or another primary agent such as build or plan)."

/**
 * One line per mode; the modes themselves come from the engine.
 * @type {Record<import("../../../index.js").JsToolMode, string>}
 */
const MODE_LINES = {
  message:
    "- message: when your turn ends, text arrives in this session as a user message and agent answers it. Use for review or turn-taking (build → plan → build).",
  new: "- new: agent answers text in a fresh session without this history. Use for a clean next phase. Returns at once.",
  compact:
    "- compact: when your turn ends, this session is summarized, then agent answers text on the summary. Use when the history is long.",
  fork: "- fork: agent answers text in a copy of this session with its full history. Call several times in one turn to try alternatives in parallel. Returns at once.",
  status: "- status: list the branches (new, fork) you opened, their state and last answer. No text needed.",
}

const QUEUED_NOTE = "After message or compact, end your turn: the answer comes after it."

/**
 * The description for the modes on offer.
 * @param {import("../../../index.js").JsToolMode[]} modes
 */
export function describeTool(modes) {
  const lines = [INTRO, "Modes:", ...modes.map((mode) => MODE_LINES[mode])]
  if (modes.includes("message") || modes.includes("compact")) lines.push(QUEUED_NOTE)
  return lines.join("\n")
}

/**
 * @param {(input: import("../../../index.js").JsToolCallInput, context: object) => Promise<string>} runCall
 *   runs the call; `context` is the tool context OpenCode passed (its `ask` checks permissions)
 * @param {import("../../../index.js").JsToolMode[]} modes the modes on offer, in the order the engine lists them
 */
export function createSessionTool(runCall, modes) {
  return {
    description: describeTool(modes),
    args: {
      text: { type: "string", description: "What the receiving agent should do, written as a user message" },
      mode: { type: "string", enum: modes, description: modes.join(" | ") },
      agent: { type: "string", description: "Primary agent that answers; default: you" },
    },
    async execute(args, context) {
      // The engine refuses, naming the field, whatever is missing or of the wrong type.
      const given = args ?? {}
      const input = {
        sessionId: context?.sessionID,
        messageId: context?.messageID,
        callerAgent: context?.agent,
        mode: given.mode,
        text: given.text ?? "",
        agent: given.agent ?? null,
      }
      return runCall(input, context)
    },
  }
}

/**
 * The `tool.definition` hook. For plain-schema arguments OpenCode marks every
 * argument required; only `mode` is (`status` needs no text, `agent` defaults).
 * @param {{ toolID: string }} input
 * @param {{ jsonSchema?: { required?: string[] } }} output
 */
export function refineDefinition(input, output) {
  const schema = output?.jsonSchema
  if (input?.toolID === "session" && typeof schema === "object" && schema !== null) schema.required = ["mode"]
}
