// Runs the end-to-end suite (__test__/e2e/*.test.mjs) once per OpenCode
// release named by E2E_RELEASES:
//   unset            the newest tested release only
//   "matrix"         the releases scripts/opencode-releases.mjs marks for it
//                    (the oldest, one in the middle, the newest)
//   "all"            every tested release
//   "1.3.2,1.18.33"  those releases
// Every release runs even when one fails; the exit code says whether all passed.

import { spawnSync } from "node:child_process"
import fs from "node:fs"
import path from "node:path"
import { fileURLToPath } from "node:url"
import { ensureOpencode, NEWEST, RELEASES } from "./opencode-releases.mjs"

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")
const SUITE = path.join(REPO_ROOT, "__test__", "e2e")

function selected(spec) {
  if (!spec) return [NEWEST]
  if (spec === "matrix") return RELEASES.filter((r) => r.e2e).map((r) => r.version)
  if (spec === "all") return RELEASES.map((r) => r.version)
  const names = spec.split(",").map((v) => v.trim())
  const unknown = names.filter((v) => !RELEASES.some((r) => r.version === v))
  if (unknown.length > 0) {
    console.error(`E2E_RELEASES names ${unknown.join(", ")}, not among the tested releases ${RELEASES.map((r) => r.version).join(", ")}`)
    process.exit(2)
  }
  return names
}

const files = fs
  .readdirSync(SUITE)
  .filter((name) => name.endsWith(".test.mjs"))
  .sort()
  .map((name) => path.join(SUITE, name))
const failed = []
for (const version of selected(process.env.E2E_RELEASES)) {
  ensureOpencode(version)
  console.log(`# end-to-end suite on OpenCode ${version}`)
  const started = Date.now()
  const run = spawnSync(process.execPath, ["--test", "--test-concurrency=1", ...files], {
    stdio: "inherit",
    env: { ...process.env, OPENCODE_VERSION: version },
  })
  console.log(`# OpenCode ${version}: ${run.status === 0 ? "passed" : "FAILED"} in ${((Date.now() - started) / 1000).toFixed(0)} s`)
  if (run.status !== 0) failed.push(version)
}
if (failed.length > 0) {
  console.error(`the end-to-end suite failed on OpenCode ${failed.join(", ")}`)
  process.exit(1)
}
