// The `session` tool as the model sees it. Only the modes the options leave
// on are offered, so a model is never shown a mode it may not use; `status`
// is always there when `new` or `fork` is. Its words come from the engine
// (`RelayEngine.toolText()`), like everything else the plugin says.
//
// OpenCode 1.0–1.14 build the tool's parameters with their own zod,
// `z.object(args)`, and fail every prompt when an argument is not a zod 4
// schema; 1.15 and later take zod or plain JSON Schema. Loading zod would
// cost more than the rest of the plugin's start-up together, so each
// argument is a plain JSON Schema dressed in the few zod 4 internals those
// hosts read: whether it may be left out (`optin`/`optout`), its JSON Schema
// (`toJSONSchema`, which zod's generator takes as it is, descriptions
// included), and parsing, which passes the value through. OpenCode then
// checks nothing; the native engine checks every argument and says what is
// wrong. These internals are shared by the zod 4.1 to 4.4 that OpenCode
// bundles; a host on another zod is to be checked again
// (__test__/versions/usable.test.mjs asserts the schema each release sends).

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
      text: argument({ type: "string", description: text.text }, { optional: true }),
      mode: argument({ type: "string", enum: modes, description: text.mode }),
      agent: argument({ type: "string", description: text.agent }, { optional: true }),
      // Only where an offered mode takes it (a follow-up, cancel).
      ...(text.session ? { session: argument({ type: "string", description: text.session }, { optional: true }) } : {}),
    },
    async execute(args, context) {
      return runCall(toolCallInput(args, context), context)
    },
  }
}

/**
 * The JSON Schema of the tool's arguments, as OpenCode sends it to the model
 * (`status` needs no text, and `agent` defaults to the caller, so only `mode`
 * is required).
 * @param {Record<string, { jsonSchema: object, optional: boolean }>} args the tool's `args`
 */
export function argumentsSchema(args) {
  const entries = Object.entries(args)
  return {
    type: "object",
    properties: Object.fromEntries(entries.map(([name, arg]) => [name, arg.jsonSchema])),
    required: entries.filter(([, arg]) => !arg.optional).map(([name]) => name),
    additionalProperties: false,
  }
}

/**
 * One argument: its JSON Schema, readable by OpenCode's zod as a zod 4 schema.
 * @param {object} jsonSchema
 * @param {{ optional?: boolean }} [o]
 */
function argument(jsonSchema, { optional = false } = {}) {
  const presence = optional ? "optional" : undefined
  const pass = (value) => value
  return {
    jsonSchema,
    optional,
    _zod: {
      def: { type: "custom" },
      bag: {},
      traits: new Set(["$ZodType"]),
      optin: presence,
      optout: presence,
      toJSONSchema: () => ({ ...jsonSchema }),
      run: pass,
      parse: pass,
    },
    "~standard": { version: 1, vendor: "opencode-sessions", validate: (value) => ({ value }) },
  }
}

/** Where OpenCode 1.14 keeps a plugin tool's zod object on its Effect schema. */
const ZOD_OVERRIDE = Symbol.for("effect-zod/override")

/**
 * The `tool.definition` hook (OpenCode 1.1 and later), so that the model is
 * sent the same schema everywhere, `argumentsSchema(args)`. OpenCode 1.0–1.3
 * write `additionalProperties: false` themselves (zod's output mode); later
 * releases leave it out unless told: 1.15 and later send the JSON Schema in
 * this hook's output, 1.14 has zod write the schema of the object it built
 * from the args, and zod takes an object's own `toJSONSchema` as it does an
 * argument's. Parsing is unchanged: an unknown argument still reaches the
 * tool, which ignores it.
 * @param {{ toolID: string }} input
 * @param {{ jsonSchema?: object, parameters?: { ast?: { annotations?: object } } }} output
 */
export function refineDefinition(input, output) {
  if (input?.toolID !== "session" || typeof output !== "object" || output === null) return
  const { jsonSchema, parameters } = output
  if (typeof jsonSchema === "object" && jsonSchema !== null) {
    output.jsonSchema = { ...jsonSchema, additionalProperties: false }
    return
  }
  const object = parameters?.ast?.annotations?.[ZOD_OVERRIDE]?._zod
  const shape = object?.def?.shape
  if (object && shape && Object.values(shape).every((arg) => typeof arg?.jsonSchema === "object")) {
    object.toJSONSchema = () => argumentsSchema(shape)
  }
}

/**
 * The engine's tool-call input from what OpenCode hands a tool's `execute`
 * (both generations name the caller alike): its arguments and the calling
 * session, message and agent. The engine refuses, naming the field, whatever
 * is missing or of the wrong type.
 * @param {unknown} args
 * @param {{sessionID?: unknown, messageID?: unknown, agent?: unknown} | undefined} context
 * @returns {import("../../../index.js").JsToolCallInput}
 */
export function toolCallInput(args, context) {
  const given = args ?? {}
  return {
    sessionId: context?.sessionID,
    messageId: context?.messageID,
    callerAgent: context?.agent,
    mode: given.mode,
    text: given.text ?? "",
    agent: given.agent ?? null,
    session: given.session ?? null,
  }
}
