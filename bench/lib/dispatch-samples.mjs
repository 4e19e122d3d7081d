// The samples of the dispatch benches (bench/dispatch.mjs, bench/dispatch-ab.mjs):
// a plugin loaded over a fake OpenCode client that stamps each prompt with
// performance.now(), and one hand-off timed from the event that starts it to
// its prompt leaving the plugin.

import { mkdtempSync } from "node:fs"
import os from "node:os"
import path from "node:path"
import { performance } from "node:perf_hooks"
import { setImmediate as tick } from "node:timers/promises"
import { fakeClient, idleEvent, status, toolContext } from "../../__test__/fake-client.mjs"

/** The plugin keeps pending hand-offs under XDG_STATE_HOME: a throwaway directory for the bench. */
export function throwawayStateHome() {
  process.env.XDG_STATE_HOME = mkdtempSync(path.join(os.tmpdir(), "bench-state-"))
}

/** A fake OpenCode client that stamps prompts and can hold a summarize open. */
function stampingClient() {
  let onPrompt = null
  let onSummarize = null
  const fake = fakeClient({
    "session.promptAsync": () => {
      const at = performance.now()
      onPrompt?.(at)
      onPrompt = null
      return { data: undefined, response: { ok: true, status: 204 } }
    },
    "session.summarize": () =>
      new Promise((resolve) => {
        const release = () => resolve({ data: true, response: { ok: true, status: 200 } })
        if (onSummarize) onSummarize(release)
        else release()
        onSummarize = null
      }),
  })
  return {
    client: fake.client,
    /** Resolves with the performance.now() of the next prompt; arm it before the event that sends it. */
    nextPrompt: (limitMs = 2000) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no prompt within ${limitMs} ms`)), limitMs)
        onPrompt = (at) => {
          clearTimeout(timer)
          resolve(at)
        }
      }),
    /** Resolves with a `release` function once the next summarize request arrives. */
    nextSummarize: () => new Promise((resolve) => (onSummarize = resolve)),
  }
}

/** Loads a plugin through `create(input)` over a stamping client. */
export async function loadPlugin(create) {
  const stamps = stampingClient()
  const hooks = await create({ client: stamps.client, directory: "/tmp/bench", worktree: "/tmp/bench" })
  const send = (event) => hooks.event({ event })
  const settle = async () => {
    for (let i = 0; i < 3; i++) await tick()
  }
  /** The relay's own answer runs and ends, so nothing stays queued. */
  const finish = async (sessionID) => {
    await settle()
    send(status(sessionID, "busy"))
    send(status(sessionID, "idle"))
    send(idleEvent(sessionID))
    await settle()
  }
  return { hooks, stamps, send, settle, finish }
}

/** Idle event in → prompt out, for one queued `message` relay. */
export async function messageSample(plugin, sessionID) {
  const { hooks, stamps, send, finish } = plugin
  send(status(sessionID, "busy"))
  await hooks.tool.session.execute({ text: "Review the auth module", mode: "message", agent: "plan" }, toolContext(sessionID))
  const prompted = stamps.nextPrompt()
  const start = performance.now()
  send(status(sessionID, "idle"))
  const end = await prompted
  send(idleEvent(sessionID))
  await finish(sessionID)
  return end - start
}

/** `session.compacted` in → prompt out, with the events OpenCode sends after it arriving right behind it. */
export async function compactSample(plugin, sessionID) {
  const { hooks, stamps, send, settle, finish } = plugin
  send(status(sessionID, "busy"))
  await hooks.tool.session.execute({ text: "Review the architecture", mode: "compact", agent: "plan" }, toolContext(sessionID))
  const summarizing = stamps.nextSummarize()
  send(status(sessionID, "idle"))
  send(idleEvent(sessionID))
  const release = await summarizing
  send(status(sessionID, "busy"))
  await settle()
  const prompted = stamps.nextPrompt()
  const start = performance.now()
  release()
  send({ type: "session.compacted", properties: { sessionID } })
  send(status(sessionID, "busy"))
  send(status(sessionID, "idle"))
  send(idleEvent(sessionID))
  const end = await prompted
  await finish(sessionID)
  return end - start
}
