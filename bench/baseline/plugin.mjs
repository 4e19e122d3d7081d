// The pure-JS alternative the in-process benches compare against: a minimal
// plugin with a `session` tool that queues `message` and `compact` relays in
// a Map and sends them on a session's busy→idle edge, as a plain TypeScript
// plugin would. It filters events the same way the real plugin does.
//
// `compact` waits `settleMs` (100 ms by default) after the summary before it
// prompts: the fixed sleep of the earlier TypeScript plugin.

import { tool } from "@opencode-ai/plugin"

const z = tool.schema

// The same events the real plugin lets through: a turn's end, errors, deletions,
// and completed assistant messages (how a step ended tells an interrupt apart).
const RELEVANT = new Set(["session.status", "session.idle", "session.compacted", "session.error", "session.deleted", "message.updated"])

function finishedAssistant(event) {
  const info = event.properties?.info
  return info?.role === "assistant" && info.time?.completed !== undefined
}

export async function createBaselinePlugin({ client }, { settleMs = 100 } = {}) {
  /** Relays waiting per session, and sessions whose turn is running. */
  const queues = new Map()
  const busy = new Set()

  function enqueue(sessionID, relay) {
    const queue = queues.get(sessionID)
    if (queue) queue.push(relay)
    else queues.set(sessionID, [relay])
    busy.add(sessionID)
  }

  function handle(event) {
    const sessionID = event.properties?.sessionID
    if (event.type === "session.status" && event.properties.status?.type !== "idle") {
      busy.add(sessionID)
    } else if (event.type === "session.status" || event.type === "session.idle") {
      if (!busy.delete(sessionID)) return
      const queue = queues.get(sessionID)
      const relay = queue?.shift()
      if (queue?.length === 0) queues.delete(sessionID)
      if (relay) void deliver(sessionID, relay)
    }
  }

  async function deliver(sessionID, { mode, agent, text }) {
    try {
      if (mode === "compact") {
        await client.session.summarize({ path: { id: sessionID }, body: { providerID: "mock", modelID: "mock-model" } })
        await new Promise((resolve) => setTimeout(resolve, settleMs))
      }
      await client.session.promptAsync({ path: { id: sessionID }, body: { agent, parts: [{ type: "text", text }] } })
    } catch (error) {
      console.error(`baseline: relay failed: ${error?.message ?? error}`)
    }
  }

  return {
    tool: {
      session: tool({
        description: "Hand work to an agent: message or compact, delivered when your turn ends.",
        args: {
          text: z.string().min(1),
          mode: z.enum(["message", "compact"]),
          agent: z.string().optional(),
        },
        async execute(args, context) {
          enqueue(context.sessionID, { mode: args.mode, agent: args.agent ?? context.agent, text: args.text })
          return `Queued for ${args.agent ?? context.agent}.`
        },
      }),
    },
    async event({ event }) {
      if (RELEVANT.has(event?.type) && (event.type !== "message.updated" || finishedAssistant(event))) handle(event)
    },
  }
}
