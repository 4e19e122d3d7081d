// The `session` tool as the model sees it.

import { tool } from "@opencode-ai/plugin"

const z = tool.schema

export const MODES = ["message", "new", "compact", "fork"]

const DESCRIPTION = `Hand work to an agent (yourself or another primary agent such as build or plan).
Modes:
- message: when your turn ends, text arrives in this session as a user message and agent answers it. Use for review or turn-taking (build → plan → build).
- new: agent answers text in a fresh session without this history. Use for a clean next phase. Returns at once.
- compact: when your turn ends, this session is summarized, then agent answers text on the summary. Use when the history is long.
- fork: agent answers text in a copy of this session with its full history. Call several times in one turn to try alternatives in parallel. Returns at once.
After message or compact, end your turn: the answer comes after it.`

/**
 * @param {(input: import("./engine-types.js").ToolCallInput) => Promise<string>} runCall
 */
export function createSessionTool(runCall) {
  return tool({
    description: DESCRIPTION,
    args: {
      text: z.string().min(1).describe("What the receiving agent should do, written as a user message"),
      mode: z.enum(MODES).describe("message | new | compact | fork"),
      agent: z.string().optional().describe("Primary agent that answers; default: you"),
    },
    async execute(args, context) {
      return runCall({
        sessionId: context.sessionID,
        messageId: context.messageID,
        callerAgent: context.agent,
        mode: args.mode,
        text: args.text,
        agent: args.agent ?? null,
      })
    },
  })
}
