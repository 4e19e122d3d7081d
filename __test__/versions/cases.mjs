// One "is OpenCode still usable with the plugin" run per OpenCode release and
// way of listing the package, shared by usable.test.mjs (which asserts) and
// scripts/version-table.mjs (which writes the README's table).
//
// The package is packed from the working tree and installed the way a user
// gets it: by name into OpenCode's own package cache (offline: the cache is
// seeded where each release's loader looks first), by path into a
// node_modules of its own. Each run boots `opencode serve` with the package
// listed, checks that OpenCode answers, counts the plugin's loads, and plays
// one scripted turn that calls the tool in three ways.

import assert from "node:assert/strict"
import { execFile } from "node:child_process"
import fs from "node:fs"
import path from "node:path"
import { promisify } from "node:util"
import { ensureOpencode } from "../../scripts/opencode-releases.mjs"
import { startOpencode } from "../e2e/opencode.mjs"
import { cue, textOf, toolParts, transcript, until } from "../e2e/transcript.mjs"
import { MAIN, PLATFORM, packPackages } from "../install/pack.mjs"

const run = promisify(execFile)
const PLATFORM_PACKAGE = `${MAIN.name}-${PLATFORM}`

/** The file to list by path (the entry OpenCode 1.0–1.3 need). */
export const ENTRY_FILE = MAIN.main.replace(/^\.\//, "")

/** The ways a user lists the package in `plugin`, by the name the table and the tests use. */
export const LISTINGS = {
  name: "by name",
  directory: "by path to the package directory",
  file: `by path to ${ENTRY_FILE}`,
}

/**
 * The CACHE_VERSION of OpenCode 1.0 ("14") and 1.1–1.3 ("21"), which empty a
 * cache stamped otherwise at start; null for 1.14 and later.
 */
function legacyCacheStamp(version) {
  const minor = Number(version.split(".")[1])
  if (minor > 3) return null
  return minor === 0 ? "14" : "21"
}

/**
 * Packs the working tree and unpacks both packages (the plugin and its
 * linux-x64-gnu binary) into `work`/installed/node_modules.
 * @returns {Promise<{ work: string, modules: string }>}
 */
export async function preparePackage(work) {
  const packed = await packPackages(work)
  const modules = path.join(work, "installed", "node_modules")
  for (const [name, info] of [
    [MAIN.name, packed.main],
    [PLATFORM_PACKAGE, packed.platform],
  ]) {
    const into = path.join(modules, name)
    fs.mkdirSync(into, { recursive: true })
    await run("tar", ["-xzf", info.tarball, "-C", into, "--strip-components=1"], { timeout: 60_000 })
  }
  return { work, modules }
}

/** Copies the installed packages into `dir`/node_modules. */
function installInto(modules, dir) {
  for (const name of [MAIN.name, PLATFORM_PACKAGE]) {
    fs.cpSync(path.join(modules, name), path.join(dir, "node_modules", name), { recursive: true })
  }
}

/**
 * The `plugin` entry for `listing`, and the XDG cache directory to boot with
 * (for a name, seeded so the release's loader finds the package installed).
 */
function listingFor(version, listing, { modules, cacheDir }) {
  if (listing === "directory") return { spec: path.join(modules, MAIN.name), cacheDir }
  if (listing === "file") return { spec: path.join(modules, MAIN.name, ENTRY_FILE), cacheDir }
  const spec = `${MAIN.name}@${MAIN.version}`
  const opencodeCache = path.join(cacheDir, "opencode")
  const stamp = legacyCacheStamp(version)
  if (stamp) {
    // 1.0–1.3: `<cache>/node_modules/<name>`, taken as installed when
    // `<cache>/package.json` lists that exact version.
    installInto(modules, opencodeCache)
    fs.writeFileSync(path.join(opencodeCache, "package.json"), JSON.stringify({ dependencies: { [MAIN.name]: MAIN.version } }))
    fs.writeFileSync(path.join(opencodeCache, "version"), stamp)
  } else {
    // 1.14 and later: a folder per spec, `<cache>/packages/<spec>/node_modules/<name>`.
    installInto(modules, path.join(opencodeCache, "packages", spec))
  }
  return { spec, cacheDir }
}

/**
 * How often OpenCode loaded the plugin, from its log: the `loading plugin`
 * lines that name the package (1.18 logs none), and the instances it made
 * (each one loads every plugin; the entries have one plugin function each).
 */
function loadsOf(oc) {
  const lines = oc.readLog().split("\n")
  return {
    loads: lines.filter((line) => /loading plugin/.test(line) && line.includes(MAIN.name)).length,
    instances: lines.filter((line) => /creating instance/.test(line)).length,
  }
}

/**
 * Boots `version` with the package listed as `listing` and plays the turn.
 * Returns what was seen; `check(result)` asserts it.
 * @param {object} o
 * @param {string} o.version
 * @param {keyof LISTINGS} o.listing
 * @param {{ modules: string, work: string }} o.prepared
 * @param {{ url: string, requests: object[] }} o.mock
 * @param {(line: string) => void} [o.log]
 */
export async function runCase({ version, listing, prepared, mock, log }) {
  const caseDir = fs.mkdtempSync(path.join(prepared.work, `${version}-${listing}-`))
  const { spec, cacheDir } = listingFor(version, listing, { modules: prepared.modules, cacheDir: path.join(caseDir, "cache") })
  const started = Date.now()
  const result = {
    version,
    listing,
    spec,
    agentStatus: null,
    loads: null,
    instances: null,
    errors: [],
    schema: null,
    description: null,
    calls: {},
  }
  const previousBin = process.env.OPENCODE_BIN
  process.env.OPENCODE_BIN = ensureOpencode(version)
  let oc
  try {
    const fromRequest = mock.requests.length
    try {
      // 1.0–1.3 would install their built-in auth plugins from the registry into
      // the same cache on every start, resolving the whole cache's package.json
      // again; they have nothing to do with this package.
      const env = { OPENCODE_DISABLE_DEFAULT_PLUGINS: "1" }
      oc = await startOpencode({ pluginPath: spec, modelUrl: mock.url, cacheDir, env, log })
      result.agentStatus = 200
    } catch (error) {
      result.bootError = error.message.split("\n")[0]
      return result
    }
    result.errors = [...oc.pluginErrorMessages(), ...oc.pluginLogErrors()]
    const session = await oc.createSession(`versions ${version} ${listing}`)
    await oc.promptAsync(
      session.id,
      cue(
        { mode: "status" },
        { mode: "message", agent: "nosuchagent", text: "unknown agent" },
        { mode: "message", agent: "plan", text: "relay check" },
      ),
      "build",
    )
    await oc.waitForIdle(session.id)
    // The model's first request of the turn (not every release names the session in a header).
    const first = mock.requests.slice(fromRequest).find((r) => r.kind === "chat" && r.lastUserText.includes("relay check"))
    const offered = first?.body?.tools?.find((tool) => tool?.function?.name === "session")?.function
    result.schema = offered?.parameters ?? null
    result.description = offered?.description ?? null
    // The hand-off to plan, when the host can make it, is delivered on that idle.
    const delivered = async () => {
      const messages = await oc.messages(session.id)
      return messages.some(
        (m) => m.info.role === "assistant" && m.info.agent === "plan" && /relay check/.test(textOf(m)) && m.info.time?.completed,
      )
    }
    const parts = toolParts(await oc.messages(session.id))
    const queued = parts.find((p) => p.state?.input?.agent === "plan")
    if (queued?.state?.status === "completed") {
      result.calls.relayDelivered = await until(delivered, { timeoutMs: 20_000 }).catch(() => false)
      await oc.waitForIdle(session.id, { after: 0 }).catch(() => {})
    }
    const messages = await oc.messages(session.id)
    for (const [key, part] of [
      ["status", parts.find((p) => p.state?.input?.mode === "status")],
      ["unknownAgent", parts.find((p) => p.state?.input?.agent === "nosuchagent")],
      ["message", queued],
    ]) {
      const state = part?.state ?? {}
      result.calls[key] = { status: state.status ?? null, text: state.status === "error" ? state.error : state.output }
    }
    result.followUp = messages.some((m) => m.info.role === "assistant" && m.info.agent === "build" && /^\[build\] done: /.test(textOf(m)))
    result.transcript = transcript(messages)
    // Counted at the end: a plugin loaded once more later on is loaded twice.
    Object.assign(result, loadsOf(oc))
    return result
  } finally {
    result.ms = Date.now() - started
    await oc?.stop()
    if (previousBin === undefined) delete process.env.OPENCODE_BIN
    else process.env.OPENCODE_BIN = previousBin
    fs.rmSync(caseDir, { recursive: true, force: true })
  }
}

/** The options the options cases give: they show in the tool's `mode` enum. */
export const SOME_OPTIONS = { modes: ["message", "fork"] }

/**
 * The ways to give the plugin options, by the name the table uses:
 * `tuple` is `"plugin": [[path, options]]`; `file` is a plugin file of the
 * user's own in OpenCode's global `plugin/` folder that calls `createPlugin`
 * with them, the package installed in that config folder's node_modules.
 */
export const OPTION_WAYS = {
  tuple: '`["opencode-sessions", {…}]` in `plugin`',
  file: "a plugin file of your own calling `createPlugin(input, {…})`",
}

/** The plugin file of the `file` way (what the README shows). */
export const OWN_PLUGIN_FILE = `import { createPlugin } from "opencode-sessions"

export const sessions = (input) => createPlugin(input, ${JSON.stringify(SOME_OPTIONS)})
`

/**
 * Boots `version` with SOME_OPTIONS given the `way` named, and reads the
 * `mode` enum the model is offered. `bootError` says when OpenCode did not start.
 */
export async function runOptionsCase({ version, way, prepared, mock, log }) {
  const root = fs.mkdtempSync(path.join(prepared.work, `${version}-options-${way}-`))
  const result = { version, way, bootError: undefined, enum: null, errors: [] }
  const previousBin = process.env.OPENCODE_BIN
  process.env.OPENCODE_BIN = ensureOpencode(version)
  let oc
  try {
    const options = { modelUrl: mock.url, env: { OPENCODE_DISABLE_DEFAULT_PLUGINS: "1" }, log }
    if (way === "tuple") {
      Object.assign(options, { pluginPath: path.join(prepared.modules, MAIN.name), pluginOptions: SOME_OPTIONS, pluginOptionsIn: "config" })
    } else {
      const configDir = path.join(root, "xdg-config", "opencode")
      installInto(prepared.modules, configDir)
      fs.mkdirSync(path.join(configDir, "plugin"), { recursive: true })
      fs.writeFileSync(path.join(configDir, "plugin", "sessions.js"), OWN_PLUGIN_FILE)
      options.root = root
    }
    const fromRequest = mock.requests.length
    try {
      oc = await startOpencode(options)
    } catch (error) {
      result.bootError = error.message.split("\n")[0]
      return result
    }
    result.errors = [...oc.pluginErrorMessages(), ...oc.pluginLogErrors()]
    const session = await oc.createSession(`options ${version} ${way}`)
    await oc.promptAsync(session.id, cue({ mode: "status", text: "options check" }), "build")
    await oc.waitForIdle(session.id)
    const first = mock.requests.slice(fromRequest).find((r) => r.kind === "chat" && r.lastUserText.includes("options check"))
    result.enum =
      first?.body?.tools?.find((tool) => tool?.function?.name === "session")?.function?.parameters?.properties?.mode?.enum ?? null
    Object.assign(result, loadsOf(oc))
    return result
  } finally {
    await oc?.stop()
    if (previousBin === undefined) delete process.env.OPENCODE_BIN
    else process.env.OPENCODE_BIN = previousBin
    fs.rmSync(root, { recursive: true, force: true })
  }
}

/**
 * What a usable OpenCode with the plugin looks like.
 * @param {Awaited<ReturnType<typeof runCase>>} r
 * @param {{ schema: object, description: string }} expected what the model must be offered
 */
export function check(r, expected) {
  const what = `${r.version} ${LISTINGS[r.listing]}`
  assert.equal(r.bootError, undefined, `${what}: OpenCode starts and GET /agent answers`)
  assert.equal(r.agentStatus, 200)
  assert.deepEqual(r.errors, [], `${what}: the plugin loads`)
  assert.deepEqual(r.schema, expected.schema, `${what}: the model is offered the tool's schema`)
  assert.equal(r.description, expected.description, `${what}: with the tool's description`)
  const show = `\n${(r.transcript ?? []).join("\n")}`
  assert.equal(r.calls.status?.status, "completed", `${what}: status runs${show}`)
  assert.match(r.calls.status.text, /Across all sessions: /)
  assert.equal(r.calls.unknownAgent?.status, "error", `${what}: an unknown agent is refused${show}`)
  assert.match(r.calls.unknownAgent.text, /"nosuchagent" is not an agent of this project/)
  assert.equal(r.calls.message?.status, "completed", `${what}: message is queued${show}`)
  assert.equal(r.calls.relayDelivered, true, `${what}: and delivered to plan${show}`)
  assert.equal(r.followUp, true, `${what}: the model's follow-up ends the turn${show}`)
  // Last, so that a plugin loaded twice is known to work otherwise.
  assert.equal(r.instances, 1, `${what}: one instance, so the plugin is loaded once`)
  assert.ok(r.loads <= 1, `${what}: the plugin is loaded once, not ${r.loads} times`)
}

/**
 * The tool the model must be offered on every release: its description and
 * its arguments' JSON Schema, as tool.js makes them from the engine's words.
 */
export async function expectedTool() {
  const { RelayEngine } = await import("../../index.js")
  const { argumentsSchema, createSessionTool } = await import("../../lib/hosts/opencode-v1/tool.js")
  const engine = new RelayEngine(null)
  const tool = createSessionTool(async () => "", engine.enabledModes(), engine.toolText())
  // OpenCode's zod adds the dialect it writes.
  const schema = { $schema: "https://json-schema.org/draft/2020-12/schema", ...argumentsSchema(tool.args) }
  return { schema, description: tool.description }
}
