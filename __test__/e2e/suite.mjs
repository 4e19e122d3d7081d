// What every end-to-end test file shares: a real `opencode serve` with this
// repository's plugin loaded by path and a scripted model, started before
// the file's tests and stopped after them.

import assert from "node:assert/strict"
import path from "node:path"
import { fileURLToPath } from "node:url"
import { startMockModel } from "./mock-model.mjs"
import { startOpencode } from "./opencode.mjs"
import { transcript } from "./transcript.mjs"

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..")
const verbose = process.env.E2E_VERBOSE === "1"
const log = verbose ? (line) => process.stderr.write(`${line}\n`) : undefined

/**
 * Starts the model (or goes on with `mock`) and OpenCode with the plugin;
 * `options` go to startOpencode (pluginOptions, agents, extraConfig, root, ...).
 * Fails when the plugin does not load.
 */
export async function bootWithPlugin({ mock: running, ...options } = {}) {
  const mock = running ?? (await startMockModel({ log }))
  const oc = await startOpencode({ pluginPath: REPO, modelUrl: mock.url, log, ...options })
  assert.deepEqual(oc.pluginErrorMessages(), [], "the plugin loads")
  assert.deepEqual(oc.pluginLogErrors(), [], "the plugin loads")
  return { mock, oc }
}

export async function shutdown({ mock, oc } = {}) {
  await oc?.stop()
  await mock?.close()
}

/** Starts a turn of `agent` in a fresh session whose user text is `text`; returns the session id. */
export async function startTurn(oc, text, agent = "build") {
  const session = await oc.createSession(`e2e ${Date.now()}`)
  await oc.promptAsync(session.id, text, agent)
  return session.id
}

/** The session's history, one line per part, for failure messages. */
export async function showSession(oc, sessionID) {
  return `Session ${sessionID}:\n${transcript(await oc.messages(sessionID)).join("\n")}`
}
