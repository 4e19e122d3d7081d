// The package manifests are what the napi-rs CLI makes of package.json, and the
// main package publishes exactly what it needs. The release workflow relies on
// both: it runs `napi artifacts` and `napi pre-publish` on these files.

import assert from "node:assert/strict"
import { execFile } from "node:child_process"
import fs from "node:fs"
import os from "node:os"
import path from "node:path"
import { after, before, test } from "node:test"
import { promisify } from "node:util"
import { MAIN, npm, npmEnv, REPO } from "./pack.mjs"

const run = promisify(execFile)
const NAPI = path.join(REPO, "node_modules", "@napi-rs", "cli", "dist", "cli.js")
const read = (...parts) => fs.readFileSync(path.join(...parts), "utf8")

let work
before(() => {
  work = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "oc-sessions-manifest-")))
})
after(() => fs.rmSync(work, { recursive: true, force: true }))

/** A directory with package.json and npm/ copied from the repository. */
function copyOfManifests(name) {
  const dir = path.join(work, name)
  fs.mkdirSync(dir)
  fs.copyFileSync(path.join(REPO, "package.json"), path.join(dir, "package.json"))
  fs.cpSync(path.join(REPO, "npm"), path.join(dir, "npm"), { recursive: true })
  return dir
}

/** Every file under `dir`, relative, with its contents. */
function tree(dir) {
  const files = fs.readdirSync(dir, { recursive: true }).filter((file) => fs.statSync(path.join(dir, file)).isFile())
  return Object.fromEntries(files.sort().map((file) => [file, read(dir, file)]))
}

test("npm/ holds the per-platform packages napi create-npm-dirs makes of package.json", async () => {
  const dir = path.join(work, "generated")
  fs.mkdirSync(dir)
  fs.copyFileSync(path.join(REPO, "package.json"), path.join(dir, "package.json"))
  await run(process.execPath, [NAPI, "create-npm-dirs"], { cwd: dir, timeout: 60_000 })
  assert.deepEqual(tree(path.join(REPO, "npm")), tree(path.join(dir, "npm")))
})

test("the release job's napi artifacts and pre-publish change no manifest: optional dependencies are in step", async () => {
  const dir = copyOfManifests("release")
  const before = { ...tree(path.join(dir, "npm")), "package.json": read(dir, "package.json") }
  // One downloaded artifact per target, as actions/download-artifact lays them out; stand-ins
  // will do, nothing is published.
  for (const platform of fs.readdirSync(path.join(dir, "npm"))) {
    const binary = JSON.parse(read(dir, "npm", platform, "package.json")).main
    fs.mkdirSync(path.join(dir, "artifacts", `bindings-${platform}`), { recursive: true })
    fs.writeFileSync(path.join(dir, "artifacts", `bindings-${platform}`, binary), `stand-in for ${platform}`)
  }
  await run(process.execPath, [NAPI, "artifacts"], { cwd: dir, timeout: 60_000 })
  await run(process.execPath, [NAPI, "pre-publish", "-t", "npm", "--skip-optional-publish", "--no-gh-release"], {
    cwd: dir,
    timeout: 120_000,
  })
  const afterwards = { ...tree(path.join(dir, "npm")), "package.json": read(dir, "package.json") }
  for (const platform of fs.readdirSync(path.join(dir, "npm"))) {
    const binary = path.join(platform, JSON.parse(read(dir, "npm", platform, "package.json")).main)
    assert.equal(afterwards[binary], `stand-in for ${platform}`, `${binary} is in its package`)
    delete afterwards[binary]
  }
  assert.deepEqual(afterwards, before)
  assert.deepEqual(
    Object.values(MAIN.optionalDependencies),
    Object.keys(MAIN.optionalDependencies).map(() => MAIN.version),
  )
})

test("the main package publishes the loader, lib/, README and LICENSE, and no binary", async () => {
  const { stdout } = await npm(["pack", "--dry-run", "--json"], { cwd: REPO, env: npmEnv(work) })
  const [{ files }] = JSON.parse(stdout)
  const { stdout: tracked } = await run("git", ["ls-files", "lib"], { cwd: REPO, timeout: 30_000 })
  const expected = [
    "LICENSE",
    "README.md",
    "index.d.ts",
    "index.js",
    "package.json",
    "server.d.ts",
    "server.js",
    ...tracked.trim().split("\n"),
  ]
  assert.deepEqual(files.map((file) => file.path).sort(), expected.sort())
  const entries = Object.values(MAIN.exports).flatMap((entry) => (typeof entry === "string" ? [entry] : Object.values(entry)))
  for (const entry of [MAIN.main, MAIN.types, ...entries]) {
    assert.ok(expected.includes(entry.replace(/^\.\//, "")), `${entry} is published`)
  }
})

test("the release workflow builds every napi target and publishes with provenance", () => {
  const workflow = read(REPO, ".github", "workflows", "release.yml")
  const job = (name) => workflow.split(/\n {2}(?=[\w-]+:\n)/).find((section) => section.startsWith(`${name}:`)) ?? ""
  const built = [...job("build").matchAll(/- target: (\S+)/g)].map((m) => m[1])
  assert.deepEqual(built.sort(), [...MAIN.napi.targets].sort())
  const tested = [...job("test").matchAll(/- target: (\S+)/g), ...job("test-musl").matchAll(/bindings-(\S+)/g)].map((m) => m[1])
  assert.deepEqual(tested.sort(), [...MAIN.napi.targets].sort(), "every binary is tested on a runner that can run it")
  const publish = job("publish")
  assert.match(publish, /id-token: write/)
  assert.match(publish, /npx napi artifacts\n/)
  assert.match(publish, /npx napi pre-publish -t npm --no-gh-release\n/)
  assert.match(publish, /npm publish --provenance --access public\n/)
})
