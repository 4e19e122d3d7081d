// A real `opencode serve` with the plugin loaded from this checkout, answered
// by the scripted model of the end-to-end tests. Every server started here is
// stopped, and its temporary directory removed, when `fn` settles.

import path from "node:path"
import { fileURLToPath } from "node:url"
import { startMockModel } from "../../__test__/e2e/mock-model.mjs"
import { startOpencode } from "../../__test__/e2e/opencode.mjs"
import { toolParts } from "../../__test__/e2e/transcript.mjs"

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..")

/** Runs `fn({ oc, mock })` against a fresh server; `pluginOptions` as a user would write them. */
export async function withOpencode(fn, { pluginOptions } = {}) {
  const mock = await startMockModel({})
  let oc
  try {
    oc = await startOpencode({ pluginPath: REPO, pluginOptions, modelUrl: mock.url })
    const errors = [...oc.pluginErrorMessages(), ...oc.pluginLogErrors()]
    if (errors.length) throw new Error(`the plugin did not load: ${errors.join("; ")}`)
    return await fn({ oc, mock })
  } finally {
    await oc?.stop()
    await mock.close()
  }
}

/**
 * Runs one turn of `build` in a fresh session whose user text is `text` and
 * waits for it to end. Returns the session id, the event mark taken before
 * the prompt, and the session's `session` tool parts.
 */
export async function turn(oc, text) {
  const session = await oc.createSession("bench")
  const mark = await oc.promptAsync(session.id, text, "build")
  await oc.waitForIdle(session.id)
  const parts = toolParts(await oc.messages(session.id))
  const failed = parts.filter((part) => part.state.status !== "completed")
  if (failed.length) throw new Error(`session tool calls failed: ${failed.map((p) => p.state.error ?? p.state.status).join("; ")}`)
  return { sessionID: session.id, mark, parts }
}

/** The id of the session a `new` or `fork` call started, from the tool's output. */
export function startedSession(part) {
  const id = /\bses_[A-Za-z0-9]+/.exec(part.state.output ?? "")?.[0]
  if (!id) throw new Error(`no session id in the tool output: ${part.state.output}`)
  return id
}

/** Waits until `sessionID` answered (its first idle after `mark`); returns when its last answer completed (server clock, ms). */
export async function answeredAt(oc, sessionID, mark) {
  await oc.waitForIdle(sessionID, { after: mark })
  const messages = await oc.messages(sessionID)
  const answer = messages.findLast((m) => m.info.role === "assistant")
  if (!answer?.info.time?.completed) throw new Error(`session ${sessionID} went idle without a completed answer`)
  return answer.info.time.completed
}

/** The blocking alternative: a prompt awaited until the whole answer is written. */
export const blockingPrompt = (oc, sessionID, text) => oc.prompt(sessionID, text, "build")

/** Forks `sessionID` over HTTP, as a plugin would with client.session.fork. */
export const fork = (oc, sessionID) => oc.api("POST", `/session/${encodeURIComponent(sessionID)}/fork`, {})
