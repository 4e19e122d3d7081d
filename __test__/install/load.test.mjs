// The packed package installed with npm from a local registry, then loaded by
// name with plain Node and with the Bun that OpenCode embeds, its tool driven
// with a fake client. Also what a user sees when the binary package is missing
// or broken.

import assert from "node:assert/strict"
import { execFile } from "node:child_process"
import fs from "node:fs"
import os from "node:os"
import path from "node:path"
import { after, before, describe, test } from "node:test"
import { pathToFileURL } from "node:url"
import { promisify } from "node:util"
import { resolveOpencodeBin } from "../e2e/opencode.mjs"
import {
  MAIN,
  NOT_ON_PLATFORM,
  npm,
  npmEnv,
  PLATFORM,
  packPackages,
  platformManifests,
  REPO,
  servedPackages,
  upstreamRegistry,
} from "./pack.mjs"
import { startRegistry } from "./registry.mjs"

const run = promisify(execFile)
const verbose = process.env.E2E_VERBOSE === "1"
const log = verbose ? (line) => process.stderr.write(`${line}\n`) : undefined
const FAKE_CLIENT = pathToFileURL(path.join(REPO, "__test__", "fake-client.mjs")).href
const EXERCISE = path.join(REPO, "__test__", "install", "exercise.mjs")
const PLATFORM_PACKAGE = `${MAIN.name}-${PLATFORM}`
const BINARY = `${MAIN.napi.binaryName}.${PLATFORM}.node`

const runtimes = {
  node: { command: process.execPath, env: {} },
  "OpenCode's Bun": { command: resolveOpencodeBin(), env: { BUN_BE_BUN: "1" } },
}

/** Runs exercise.mjs in `dir` with `runtime`; resolves with its JSON line and exit code. */
async function exercise(runtime, dir) {
  const { command, env } = runtimes[runtime]
  const script = path.join(dir, "exercise.mjs")
  fs.copyFileSync(EXERCISE, script)
  let stdout
  let code = 0
  try {
    ;({ stdout } = await run(command, [script, FAKE_CLIENT], {
      cwd: dir,
      env: { ...process.env, XDG_STATE_HOME: path.join(dir, ".state"), ...env },
      timeout: 60_000,
    }))
  } catch (err) {
    if (typeof err.code !== "number") throw err
    ;({ stdout, code } = err)
    if (!stdout.trim()) throw new Error(`${runtime} exited with ${code} and no result: ${err.stderr}`)
  }
  return { code, result: JSON.parse(stdout.trim().split("\n").pop()) }
}

describe("installed from a registry with npm", { timeout: 300_000, skip: NOT_ON_PLATFORM }, () => {
  let work
  let packed
  let registry
  let installed

  /** A fresh project in `work` with opencode-sessions installed from `from` (by name). */
  async function install(name, from) {
    const dir = path.join(work, name)
    fs.mkdirSync(dir)
    fs.writeFileSync(path.join(dir, "package.json"), JSON.stringify({ name: `install-${name}`, private: true }))
    await npm(["install", MAIN.name], { cwd: dir, env: npmEnv(work, from.url) })
    return dir
  }

  before(async () => {
    work = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "oc-sessions-load-")))
    packed = await packPackages(work)
    registry = await startRegistry({ upstream: await upstreamRegistry(), packages: servedPackages(packed), log })
    installed = await install("installed", registry)
  })

  after(async () => {
    await registry?.close()
    if (work) fs.rmSync(work, { recursive: true, force: true })
  })

  test("npm installs the main package and only the binary package of this platform", () => {
    const modules = path.join(installed, "node_modules")
    const version = (name) => JSON.parse(fs.readFileSync(path.join(modules, name, "package.json"), "utf8")).version
    assert.equal(version(MAIN.name), MAIN.version)
    assert.equal(version(PLATFORM_PACKAGE), MAIN.version)
    assert.ok(fs.statSync(path.join(modules, PLATFORM_PACKAGE, BINARY)).size > 100_000, "the binary is in its package")
    assert.deepEqual(
      fs.readdirSync(path.join(modules, MAIN.name)).filter((file) => file.endsWith(".node")),
      [],
      "the main package carries no binary",
    )
    for (const [dir, manifest] of Object.entries(platformManifests())) {
      if (dir === PLATFORM) continue
      assert.equal(fs.existsSync(path.join(modules, manifest.name)), false, `${manifest.name} is not installed`)
      assert.ok(registry.localRequests(manifest.name, "packument").length > 0, `npm looked ${manifest.name} up`)
      assert.deepEqual(registry.localRequests(manifest.name, "tarball"), [], `npm skipped ${manifest.name} by os/cpu/libc`)
    }
  })

  for (const runtime of Object.keys(runtimes)) {
    test(`${runtime} loads it by name and its tool hands work over`, async () => {
      const { code, result } = await exercise(runtime, installed)
      assert.equal(code, 0, JSON.stringify(result))
      if (runtime === "node") assert.equal(result.versions.node, process.versions.node)
      else assert.match(result.versions.bun, /^1\.3\./)
      assert.equal(result.id, "opencode-sessions")
      assert.match(
        result.started,
        /^Started a new session ses_new1 "new · plan · Research rate limiting" without this conversation's history; plan is answering there now\./,
      )
      assert.match(result.queued, /^Queued as relay #\d+ for plan: when your turn ends/)
      assert.equal(result.promptsBeforeIdle, 1, "only the new session is prompted during the turn")
      const marked = (text) => [{ type: "text", text, metadata: { "opencode-sessions": true } }]
      assert.deepEqual(result.prompts, [
        { session: "ses_new1", agent: "plan", parts: marked("Research rate limiting") },
        { session: "ses_1", agent: "plan", parts: marked("Review the auth module") },
      ])
    })
  }

  test("without the binary package, loading fails naming the platform, the package and the fix", async (t) => {
    const withholding = await startRegistry({
      upstream: await upstreamRegistry(),
      packages: servedPackages(packed),
      withhold: [PLATFORM_PACKAGE],
      log,
    })
    t.after(() => withholding.close())
    const dir = await install("missing", withholding)
    assert.equal(fs.existsSync(path.join(dir, "node_modules", PLATFORM_PACKAGE)), false)
    for (const runtime of Object.keys(runtimes)) {
      const { code, result } = await exercise(runtime, dir)
      assert.equal(code, 2, `${runtime}: ${JSON.stringify(result)}`)
      const lines = result.error.split("\n")
      assert.match(
        lines[0],
        new RegExp(
          `^opencode-sessions ${MAIN.version} could not load its native engine on linux x64 glibc [\\d.]+ \\(linux-x64-gnu\\): its package opencode-sessions-linux-x64-gnu is not installed\\.$`,
        ),
      )
      assert.match(result.error, /To fix it in OpenCode, delete the folder ~\/\.cache\/opencode\/packages\/opencode-sessions@latest /)
      assert.equal(lines.at(-1), "See https://github.com/opencode-sessions/opencode-sessions#troubleshooting")
      t.diagnostic(`${runtime}: ${result.error}`)
    }
  })

  test("a binary that does not load is reported with the reason", async (t) => {
    const dir = path.join(work, "broken")
    fs.cpSync(installed, dir, { recursive: true })
    fs.writeFileSync(path.join(dir, "node_modules", PLATFORM_PACKAGE, BINARY), "not a shared object")
    for (const runtime of Object.keys(runtimes)) {
      const { code, result } = await exercise(runtime, dir)
      assert.equal(code, 2, `${runtime}: ${JSON.stringify(result)}`)
      const [first] = result.error.split("\n")
      assert.match(
        first,
        new RegExp(
          `\\(linux-x64-gnu\\) from opencode-sessions-linux-x64-gnu@${MAIN.version.replaceAll(".", "\\.")}: .*${BINARY.replaceAll(".", "\\.")}`,
        ),
      )
      t.diagnostic(`${runtime}: ${first}`)
    }
  })
})
