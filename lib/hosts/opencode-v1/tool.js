// The `session` tool as the model sees it. Only the modes the options leave
// on are offered, so a model is never shown a mode it may not use; `status`
// is always there when `new` or `fork` is. Its words come from the engine
// (`RelayEngine.toolText()`), like everything else the plugin says.
//
// The arguments are plain JSON Schema rather than zod: loading zod would cost
// more than the rest of the plugin's start-up together. OpenCode then sends
// the schema as written and checks nothing; the native engine checks every
// argument and says what is wrong.

/**
 * @param {(input: import("../../../index.js").JsToolCallInput, context: object) => Promise<string>} runCall
 *   runs the call; `context` is the tool context OpenCode passed (its `ask` checks permissions)
 * @param {import("../../../index.js").JsToolMode[]} modes the modes on offer, in the order the engine lists them
 * @param {import("../../../index.js").JsToolText} text what the model reads about the tool and its arguments
 */
export function createSessionTool(runCall, modes, text) {
  return {
    description: text.description,
    args: {
      text: { type: "string", description: text.text },
      mode: { type: "string", enum: modes, description: text.mode },
      agent: { type: "string", description: text.agent },
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
