// OpenCode 1.18 embeds part of OpenCode 2's core besides its V1 loader: once
// something calls its V2 API (`/api/...`, which its newer clients use), that
// core boots and calls `setup(ctx)` of each plugin listed by path to a file
// whose default export has one, with a reduced context (no tool, session or
// event domain), while the V1 `server` of the same object runs the plugin. Measured here on the real binary (the dev
// dependency, or OPENCODE_VERSION / OPENCODE_BIN): setup must do nothing
// there and say nothing, and the V1 plugin must work as before.

import assert from "node:assert/strict"
import fs from "node:fs"
import os from "node:os"
import path from "node:path"
import { after, before, describe, test } from "node:test"
import { fileURLToPath } from "node:url"
import { startMockModel } from "../e2e/mock-model.mjs"
import { startOpencode } from "../e2e/opencode.mjs"
import { startTurn } from "../e2e/suite.mjs"
import { until } from "../e2e/transcript.mjs"

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..")

/**
 * A server.js that re-exports the package's and records each `setup` call: the
 * keys of its context, what it returned and what it wrote to stderr. Its
 * directory has no package.json, so OpenCode imports the file as it is.
 */
function writeRecordingEntry(directory) {
  const calls = path.join(directory, "setup-calls.jsonl")
  const entry = path.join(directory, "server.js")
  fs.writeFileSync(
    entry,
    `import fs from "node:fs"
import real from ${JSON.stringify(path.join(REPO, "server.js"))}
export default {
  ...real,
  async setup(ctx) {
    const written = []
    const original = console.error
    console.error = (...args) => written.push(args.join(" "))
    let result
    try {
      result = await real.setup(ctx)
    } finally {
      console.error = original
      const keys = Object.keys(ctx ?? {}).sort()
      fs.appendFileSync(${JSON.stringify(calls)}, JSON.stringify({ keys, result: typeof result, written }) + "\\n")
    }
    return result
  },
}
`,
  )
  return { entry, calls }
}

const readCalls = (file) =>
  fs.existsSync(file)
    ? fs
        .readFileSync(file, "utf8")
        .split("\n")
        .filter(Boolean)
        .map((line) => JSON.parse(line))
    : []

describe("OpenCode 1.18's setup pass on the real binary", { timeout: 180_000 }, () => {
  let mock
  let probeDir
  before(async () => {
    mock = await startMockModel()
    probeDir = fs.mkdtempSync(path.join(os.tmpdir(), "oc-v2-probe-"))
  })
  after(async () => {
    await mock?.close()
    fs.rmSync(probeDir, { recursive: true, force: true })
  })

  test("setup is called with the reduced context, returns nothing and writes nothing; the V1 tool works", async () => {
    const { entry, calls } = writeRecordingEntry(probeDir)
    const oc = await startOpencode({ pluginPath: entry, modelUrl: mock.url })
    try {
      assert.deepEqual(oc.pluginErrorMessages(), [])
      assert.deepEqual(oc.pluginLogErrors(), [])
      await wakeV2Core(oc)
      await until(() => readCalls(calls)[0], { timeoutMs: 20_000, describe: () => "no setup call" })
      await assertV1ToolWorks(oc)
      // One call per instance of its V2 core (the API call, the turn's project).
      const recorded = readCalls(calls)
      for (const call of recorded) {
        for (const key of ["tool", "session", "event"]) assert.ok(!call.keys.includes(key), call.keys.join(", "))
        assert.ok(call.keys.includes("options") && call.keys.includes("agent"), call.keys.join(", "))
        assert.equal(call.result, "undefined")
        assert.deepEqual(call.written, [])
      }
      console.log(`# ${recorded.length} setup calls, context keys: ${[...new Set(recorded.map((c) => c.keys.join(", ")))].join(" / ")}`)
    } finally {
      await oc.stop()
    }
  })

  test("the package's own server.js listed by path loads with no warning or error of the plugin", async () => {
    const oc = await startOpencode({ pluginPath: path.join(REPO, "server.js"), modelUrl: mock.url })
    try {
      assert.deepEqual(oc.pluginErrorMessages(), [])
      assert.deepEqual(oc.pluginLogErrors(), [])
      await wakeV2Core(oc)
      await assertV1ToolWorks(oc)
      const alarming = oc
        .readLog()
        .split("\n")
        .filter((line) => /opencode-sessions/.test(line) && /level=(WARN|ERROR)/.test(line))
      assert.deepEqual(alarming, [])
    } finally {
      await oc.stop()
    }
  })

  /** The V2 core boots, and sets its plugins up, when its API is first called. */
  async function wakeV2Core(oc) {
    const agents = await oc.api("GET", "/api/agent")
    assert.ok(Array.isArray(agents?.data), "1.18's V2 API answers")
  }

  /** A turn sees the `session` tool, registered by the V1 `server`. */
  async function assertV1ToolWorks(oc) {
    const seen = mock.requests.length
    const sessionID = await startTurn(oc, "hello")
    await oc.waitForIdle(sessionID)
    const chat = mock.requests.slice(seen).find((r) => r.kind === "chat")
    assert.ok(
      chat?.body.tools?.some((t) => t.function.name === "session"),
      "the session tool is offered",
    )
  }
})
