// Reads OpenCode sessions the way a person sees them, for assertions and the demo.

/** One line per visible part: `who: text`, tool calls as `[tool session ok] output`. */
export function transcript(messages) {
  const lines = []
  for (const { info, parts } of messages) {
    const who = info.role === "user" ? `user → ${info.agent}` : info.summary ? "summary" : (info.agent ?? info.mode)
    for (const part of parts) {
      if (part.type === "text" && part.text) lines.push(`${who}: ${part.text}`)
      if (part.type === "compaction") lines.push(`${who}: (compaction requested)`)
      if (part.type === "tool") {
        const state = part.state ?? {}
        const body = state.status === "error" ? state.error : state.output
        lines.push(`${who}: [tool ${part.tool} ${state.status}] ${body ?? ""}`)
      }
    }
  }
  return lines
}

/** Text parts of a message, joined. */
export const textOf = (message) =>
  message.parts
    .filter((part) => part.type === "text")
    .map((part) => part.text)
    .join("\n")

/** Tool parts named `name` across messages. */
export const toolParts = (messages, name = "session") =>
  messages.flatMap((m) => m.parts.filter((part) => part.type === "tool" && part.tool === name))

/** Polls `check` until it returns a truthy value; rejects with `describe()` after `timeoutMs`. */
export async function until(check, { timeoutMs = 30_000, every = 100, describe = () => "" } = {}) {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await check()
    if (value) return value
    if (Date.now() > deadline) throw new Error(`gave up after ${timeoutMs} ms. ${await describe()}`)
    await new Promise((resolve) => setTimeout(resolve, every))
  }
}

/** `CALL session {...}` cue lines for the scripted model, one per call. */
export const cue = (...calls) => calls.map((args) => `CALL session ${JSON.stringify(args)}`).join("\n")
