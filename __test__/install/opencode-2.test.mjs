// OpenCode 2's installer on the packed packages: opencode-2-install.mjs installs
// opencode-sessions from a local registry with @npmcli/arborist and the options
// OpenCode 2 passes, into a cache laid out as OpenCode 2 lays it out, resolves
// the entry as OpenCode 2 does, decodes it with the model's decoder and hands a
// message over through the model's plugin context. It runs under the Bun that
// OpenCode 1.18.33 embeds (1.3.x; OpenCode 2's release binary is a Bun build,
// packages/cli/script/build.ts @023946e2, with bun@1.4.2 in package.json @04f4b061)
// and under Node (its Node build resolves through import.meta.resolve). The
// sources it follows, with their commits, are named in opencode-2-install.mjs.
// What the metadata must give that installer: `engines` raises no EBADENGINE
// warning (npm-install-checks reads only `node` and `npm`; Bun reports a Node
// version), the optional peer range installs nothing, and the binary package
// is chosen by its os, cpu and libc.

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
const INSTALLER = path.join(REPO, "__test__", "install", "opencode-2-install.mjs")
const MODEL = pathToFileURL(path.join(REPO, "__test__", "v2", "fake-opencode-2.mjs")).href
const PLATFORM_PACKAGE = `${MAIN.name}-${PLATFORM}`

const runtimes = {
  "OpenCode's Bun": () => ({ command: resolveOpencodeBin(), args: [], env: { BUN_BE_BUN: "1" } }),
  // import.meta.resolve takes a parent URL behind this flag before Node 22.
  node: () => ({ command: process.execPath, args: ["--experimental-import-meta-resolve"], env: {} }),
}

describe("installed by OpenCode 2's installer (@npmcli/arborist) from a registry", { timeout: 120_000, skip: NOT_ON_PLATFORM }, () => {
  let work
  let registry

  before(async () => {
    work = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "oc-sessions-v2-install-")))
    const packed = await packPackages(work)
    registry = await startRegistry({ upstream: await upstreamRegistry(), packages: servedPackages(packed), log })
  })

  after(async () => {
    await registry?.close()
    if (work) fs.rmSync(work, { recursive: true, force: true })
  })

  for (const [runtime, make] of Object.entries(runtimes)) {
    test(`${runtime}: installs, resolves ./server, decodes, and a message is handed over`, async (t) => {
      const home = path.join(work, runtime.replace(/\W+/g, "-"))
      fs.mkdirSync(home)
      const { command, args, env } = make()
      const requestsBefore = registry.requests.length
      const { stdout } = await run(command, [...args, INSTALLER, JSON.stringify({ spec: MAIN.name, model: MODEL })], {
        cwd: path.dirname(INSTALLER),
        env: { ...npmEnv(home, registry.url), XDG_CACHE_HOME: path.join(home, "cache"), ...env },
        timeout: 90_000,
      })
      const result = JSON.parse(stdout.trim().split("\n").pop())
      t.diagnostic(`${runtime} ${result.versions.bun ?? result.versions.node}, npm config nodeVersion ${result.nodeVersion}`)

      // The cache: one generation, the staging directory renamed away.
      assert.deepEqual(result.cacheEntries, [result.generation])
      assert.match(result.generation, /^\d+$/)
      // save: true, savePrefix "": the exact version, which OpenCode 2 reads back as the installed name.
      assert.deepEqual(result.rootManifest, { dependencies: { [MAIN.name]: MAIN.version } })
      assert.equal(result.installedName, MAIN.name)

      // engines (node, opencode) and the optional peer range raise no warning or error,
      // and only this platform's binary package is installed (os, cpu, libc).
      assert.deepEqual(result.logged, [])
      assert.deepEqual(result.modules.sort(), [MAIN.name, PLATFORM_PACKAGE].sort())
      // Every binary package is looked up; only this platform's is fetched. The musl one differs
      // from it by libc alone.
      const requests = registry.requests.slice(requestsBefore).filter((r) => r.source === "local")
      const looked = (kind) => [...new Set(requests.filter((r) => r.kind === kind).map((r) => r.name))].sort()
      const binaries = Object.values(platformManifests()).map((manifest) => manifest.name)
      assert.deepEqual(looked("packument"), [MAIN.name, ...binaries].sort())
      assert.deepEqual(looked("tarball"), [MAIN.name, PLATFORM_PACKAGE].sort())

      // exports["./server"] is taken before "."; no TUI or RPC entry is offered.
      assert.deepEqual(result.resolved, {
        server: path.join("node_modules", MAIN.name, "server.js"),
        "": path.join("node_modules", MAIN.name, "lib", "opencode-sessions.js"),
        tui: null,
        rpc: null,
      })

      assert.deepEqual(result.decoded, { keys: ["id", "setup"], id: "opencode-sessions" })
      assert.deepEqual(result.tool, { name: "session", options: { codemode: false } })
      assert.deepEqual(result.stderr, [])
      const expected = [
        "user → build: CALL session",
        "build: [build] done: Queued as relay #",
        "user → plan: Review the auth module",
        "plan: [plan] got: Review the auth module",
      ]
      assert.equal(result.transcript.length, expected.length, result.transcript.join("\n"))
      for (const [n, line] of result.transcript.entries()) assert.ok(line.startsWith(expected[n]), `line ${n}: ${line}`)
    })
  }
})
