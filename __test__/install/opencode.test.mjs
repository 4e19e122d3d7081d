// OpenCode installs opencode-sessions itself from `"plugin": ["opencode-sessions"]`:
// the packed packages are served by a local registry, OpenCode's own npm installs
// them into its package cache, and a relay runs end to end against the scripted
// model. Then what the README says about updating and pinning: a newer release
// is not picked up from the cache, deleting the cached folder is, a pinned
// version has a folder of its own. Last, a boot where the binary package is
// missing.

import assert from "node:assert/strict"
import fs from "node:fs"
import os from "node:os"
import path from "node:path"
import { after, before, describe, test } from "node:test"
import { startMockModel } from "../e2e/mock-model.mjs"
import { startOpencode } from "../e2e/opencode.mjs"
import { cue, textOf, transcript, until } from "../e2e/transcript.mjs"
import {
  MAIN,
  NOT_ON_PLATFORM,
  npm,
  npmEnv,
  PLATFORM,
  packPackages,
  platformManifests,
  repackAs,
  servedPackages,
  upstreamRegistry,
} from "./pack.mjs"
import { startRegistry } from "./registry.mjs"

const verbose = process.env.E2E_VERBOSE === "1"
const log = verbose ? (line) => process.stderr.write(`${line}\n`) : undefined
const PLATFORM_PACKAGE = `${MAIN.name}-${PLATFORM}`
const BINARY = `${MAIN.napi.binaryName}.${PLATFORM}.node`
const NEXT_VERSION = MAIN.version.replace(/^(\d+)\.(\d+)\.(\d+).*$/, (_, major, minor, patch) => `${major}.${minor}.${Number(patch) + 1}`)
// Installing through a registry proxy may take a while on a slow network.
const INSTALL_BOOT_TIMEOUT_MS = 240_000

/** The .node files mapped into the opencode process (the child of the harness's guard). */
function loadedBinaries(oc) {
  const children = fs.readFileSync(`/proc/${oc.pid}/task/${oc.pid}/children`, "utf8").trim().split(/\s+/)
  const files = children.flatMap((pid) =>
    fs
      .readFileSync(`/proc/${pid}/maps`, "utf8")
      .split("\n")
      .map((line) => line.split(/\s+/).slice(5).join(" "))
      .filter((file) => file.endsWith(".node")),
  )
  return [...new Set(files)]
}

describe("installed by OpenCode from its plugin list", { timeout: 600_000, skip: NOT_ON_PLATFORM }, () => {
  let work
  let packed
  let upstream
  let registry
  let mock
  let running = null

  const cacheDir = () => path.join(work, "xdg-cache")
  const cached = (...parts) => path.join(cacheDir(), "opencode", "packages", ...parts)
  const installedVersion = (name, folder = `${MAIN.name}@latest`) =>
    JSON.parse(fs.readFileSync(cached(folder, "node_modules", name, "package.json"), "utf8")).version

  /**
   * `opencode serve` (stopping the previous one) with the plugin `spec` in its plugin list and
   * npm pointed at `from`. All boots share one npm cache, as one user's do.
   */
  async function boot(from, { cache = cacheDir(), spec = MAIN.name } = {}) {
    await running?.stop()
    running = await startOpencode({
      pluginPath: spec,
      modelUrl: mock.url,
      env: { npm_config_registry: from.url, npm_config_cache: path.join(work, "npm-cache") },
      cacheDir: cache,
      timeoutMs: INSTALL_BOOT_TIMEOUT_MS,
      log,
    })
    return running
  }

  /** Waits until the registry has had no request for `quietMs`. */
  async function quiet(from, quietMs = 1_500) {
    for (;;) {
      const wait = (from.requests.at(-1)?.at ?? 0) + quietMs - Date.now()
      if (wait <= 0) return
      await new Promise((resolve) => setTimeout(resolve, wait))
    }
  }

  /** Waits until `sessionID` holds a completed answer of `agent` whose text matches `pattern`. */
  async function answered(oc, sessionID, agent, pattern) {
    return until(
      async () =>
        (await oc.messages(sessionID)).find(
          (m) => m.info.role === "assistant" && m.info.agent === agent && m.info.time?.completed && pattern.test(textOf(m)),
        ),
      { describe: async () => transcript(await oc.messages(sessionID)).join("\n") },
    )
  }

  before(async () => {
    work = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "oc-sessions-opencode-")))
    packed = await packPackages(work)
    upstream = await upstreamRegistry()
    registry = await startRegistry({ upstream, packages: servedPackages(packed), log })
    mock = await startMockModel({ log })
  })

  after(async () => {
    await running?.stop()
    await mock?.close()
    await registry?.close()
    if (work) fs.rmSync(work, { recursive: true, force: true })
  })

  test("the first boot installs it and build hands the turn to plan", async (t) => {
    const oc = await boot(registry)
    assert.deepEqual(oc.pluginErrorMessages(), [], "installed and loaded")
    assert.deepEqual(oc.pluginLogErrors(), [], "installed and loaded")
    t.diagnostic(`first boot: listening after ${oc.listenMs} ms, plugin installed and loaded after ${oc.bootMs} ms`)

    assert.equal(installedVersion(MAIN.name), MAIN.version)
    assert.equal(installedVersion(PLATFORM_PACKAGE), MAIN.version)
    assert.deepEqual(loadedBinaries(oc), [cached(`${MAIN.name}@latest`, "node_modules", PLATFORM_PACKAGE, BINARY)])
    for (const [dir, manifest] of Object.entries(platformManifests())) {
      if (dir === PLATFORM) continue
      assert.equal(fs.existsSync(cached(`${MAIN.name}@latest`, "node_modules", manifest.name)), false, `${manifest.name} is not installed`)
      assert.deepEqual(registry.localRequests(manifest.name, "tarball"), [], `${manifest.name} is not fetched`)
    }

    const session = await oc.createSession("install check")
    await oc.promptAsync(session.id, cue({ mode: "message", agent: "plan", text: "Review the auth module" }), "build")
    await answered(oc, session.id, "plan", /^\[plan\] got: Review the auth module$/)
    const lines = transcript(await oc.messages(session.id))
    assert.match(lines[1], /^build: \[tool session completed\] Queued as relay #\d+ for plan: when your turn ends/, lines.join("\n"))
    assert.equal(lines.at(-1), "plan: [plan] got: Review the auth module")
  })

  test("a newer release is not picked up: the next boot loads the cached install without asking", async (t) => {
    const next = await repackAs(packed, NEXT_VERSION, work)
    registry.publish({ tarball: next.main.tarball })
    registry.publish({ tarball: next.platform.tarball })
    // Only this boot's requests count: the last OpenCode is stopped first,
    // and a request it still had in flight is let through.
    await running?.stop()
    await quiet(registry)
    const mark = registry.requests.length
    const oc = await boot(registry)
    const duringBoot = registry.requests.slice(mark).filter((r) => r.source === "local")
    assert.deepEqual(oc.pluginErrorMessages(), [])
    assert.deepEqual(oc.pluginLogErrors(), [])
    t.diagnostic(`cached boot: listening after ${oc.listenMs} ms, plugin loaded after ${oc.bootMs} ms`)
    assert.deepEqual(duringBoot, [], "@latest is not resolved again")
    assert.equal(installedVersion(MAIN.name), MAIN.version)
    assert.deepEqual(loadedBinaries(oc), [cached(`${MAIN.name}@latest`, "node_modules", PLATFORM_PACKAGE, BINARY)])

    const session = await oc.createSession("cached check")
    await oc.promptAsync(session.id, cue({ mode: "new", agent: "plan", text: "Research rate limiting" }), "build")
    const started = await until(async () => (await oc.sessions()).find((s) => s.title === "new · plan · Research rate limiting"))
    await answered(oc, started.id, "plan", /^\[plan\] got: Research rate limiting$/)
  })

  test("deleting the cached folder updates it: the next boot installs the latest release", async (t) => {
    await running.stop()
    fs.rmSync(cached(`${MAIN.name}@latest`), { recursive: true })
    const oc = await boot(registry)
    assert.deepEqual(oc.pluginErrorMessages(), [])
    assert.deepEqual(oc.pluginLogErrors(), [])
    t.diagnostic(`boot after deleting the cached folder: plugin installed and loaded after ${oc.bootMs} ms`)
    assert.equal(installedVersion(MAIN.name), NEXT_VERSION)
    assert.equal(installedVersion(PLATFORM_PACKAGE), NEXT_VERSION)
    assert.deepEqual(loadedBinaries(oc), [cached(`${MAIN.name}@latest`, "node_modules", PLATFORM_PACKAGE, BINARY)])
  })

  test("a pinned version is installed in a folder of its own, whatever latest is", async () => {
    const oc = await boot(registry, { spec: `${MAIN.name}@${MAIN.version}` })
    assert.deepEqual(oc.pluginErrorMessages(), [])
    assert.deepEqual(oc.pluginLogErrors(), [])
    const folder = `${MAIN.name}@${MAIN.version}`
    assert.equal(installedVersion(MAIN.name, folder), MAIN.version)
    assert.deepEqual(loadedBinaries(oc), [cached(folder, "node_modules", PLATFORM_PACKAGE, BINARY)])
  })

  test("installed with npm instead and listed by path, it loads from node_modules", async () => {
    const project = path.join(work, "npm-project")
    fs.mkdirSync(project)
    fs.writeFileSync(path.join(project, "package.json"), JSON.stringify({ name: "npm-project", private: true }))
    await npm(["install", MAIN.name], { cwd: project, env: npmEnv(work, registry.url) })
    // The harness's project is <tmp>/oc-e2e-*/project and the path is relative to its opencode.json.
    const spec = `../../${path.relative(fs.realpathSync(os.tmpdir()), project)}/node_modules/${MAIN.name}`
    const oc = await boot(registry, { spec })
    assert.deepEqual(oc.pluginErrorMessages(), [])
    assert.deepEqual(oc.pluginLogErrors(), [])
    assert.deepEqual(loadedBinaries(oc), [path.join(project, "node_modules", PLATFORM_PACKAGE, BINARY)])
  })

  test("without the binary package OpenCode logs why and keeps serving", async (t) => {
    const withholding = await startRegistry({ upstream, packages: servedPackages(packed), withhold: [PLATFORM_PACKAGE], log })
    t.after(() => withholding.close())
    const oc = await boot(withholding, { cache: path.join(work, "xdg-cache-missing") })

    const [logged, ...more] = oc.pluginLogErrors()
    assert.deepEqual(more, [], "one failure")
    assert.match(logged, /level=ERROR .*message="failed to load plugin" path=opencode-sessions error=/)
    assert.match(
      logged,
      new RegExp(
        `opencode-sessions ${MAIN.version.replaceAll(".", "\\.")} could not load its native engine on linux x64 glibc [\\d.]+ \\(linux-x64-gnu\\): its package opencode-sessions-linux-x64-gnu is not installed\\.`,
      ),
    )
    assert.match(logged, /#troubleshooting"$/)
    assert.deepEqual(loadedBinaries(oc), [])
    t.diagnostic(`logged: ${logged}`)

    const session = await oc.createSession("still serving")
    await oc.promptAsync(session.id, "Are you there?", "build")
    await answered(oc, session.id, "build", /^\[build\] got: Are you there\?$/)
    const [request] = mock.requests.filter((r) => r.kind === "chat" && r.sessionID === session.id)
    assert.ok(request.tools.length > 0 && !request.tools.includes("session"), `tools offered: ${request.tools}`)
  })
})
