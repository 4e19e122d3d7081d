// What the `session` tool costs in every model request: the length of its
// description and JSON schema as OpenCode sends them to the model, read from
// the request body the scripted model receives. For scale, the same figure
// for OpenCode's built-in tools in that request.
//
//   node bench/tool-size.mjs

import { turn, withOpencode } from "./lib/opencode.mjs"
import { emit, load } from "./lib/output.mjs"
import { median } from "./lib/stats.mjs"

const loadBefore = load()
const LIMIT = 1200

const tools = await withOpencode(async ({ oc, mock }) => {
  const { sessionID } = await turn(oc, "Say hello")
  const request = mock.requests.find((r) => r.sessionID === sessionID && r.kind === "chat")
  if (!Array.isArray(request?.body?.tools)) throw new Error("the model request carried no tools")
  return request.body.tools.map(({ function: fn }) => {
    const schema = JSON.stringify(fn.parameters ?? {})
    return { name: fn.name, description: fn.description.length, schema: schema.length, total: fn.description.length + schema.length }
  })
})

const session = tools.find((tool) => tool.name === "session")
if (!session) throw new Error(`no session tool among ${tools.map((t) => t.name).join(", ")}`)
const builtIn = tools.filter((tool) => tool.name !== "session")
const typical = median(builtIn.map((tool) => tool.total))

emit(
  {
    bench: "tool-size",
    title: "6. Tool cost per request",
    command: "node bench/tool-size.mjs",
    rows: [
      {
        label: "`session` description + JSON schema, as sent to the model",
        unit: "chars",
        ours: { value: session.total },
        baseline: { label: `median of ${builtIn.length} built-in tools`, value: typical },
        ratio: session.total / typical,
        target: `≤ ${LIMIT.toLocaleString("en-US")} chars`,
        met: session.total <= LIMIT,
      },
    ],
    notes: [
      `session: description ${session.description} + schema ${session.schema} chars (≈ ${Math.round(session.total / 4)} tokens at 4 chars per token).`,
      `Built-in tools: ${builtIn.map((t) => `${t.name} ${t.total}`).join(", ")}.`,
    ],
    extra: { tools },
  },
  { loadBefore },
)
