// The README's table of OpenCode releases, from real runs: each release of
// scripts/opencode-releases.mjs boots with the packed package listed each way
// (the cases of __test__/versions/usable.test.mjs), then with options given
// each way, and the table says what worked.
//
//   node scripts/version-table.mjs            prints the table (markdown)
//   node scripts/version-table.mjs --e2e      adds a column: the whole end-to-end suite on each release
//   node scripts/version-table.mjs --readme   also writes it into README.md, between its markers
//
// OPENCODE_VERSIONS=1.3.2,1.18.33 picks releases (default: all). A few
// minutes: one `opencode serve` per case, one case at a time.

import { spawnSync } from "node:child_process"
import fs from "node:fs"
import os from "node:os"
import path from "node:path"
import { fileURLToPath } from "node:url"
import { startMockModel } from "../__test__/e2e/mock-model.mjs"
import {
  check,
  ENTRY_FILE,
  expectedTool,
  LISTINGS,
  OPTION_WAYS,
  preparePackage,
  runCase,
  runOptionsCase,
  SOME_OPTIONS,
} from "../__test__/versions/cases.mjs"
import { RelayEngine } from "../index.js"
import { RELEASES } from "./opencode-releases.mjs"

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")
const START = "<!-- version-table: node scripts/version-table.mjs --readme -->"
const END = "<!-- /version-table -->"

const versions = process.env.OPENCODE_VERSIONS
  ? process.env.OPENCODE_VERSIONS.split(",").map((v) => v.trim())
  : RELEASES.map((release) => release.version)

/** "yes", or what went wrong, in a few words. */
function verdict(result, expected) {
  try {
    check(result, expected)
    return "yes"
  } catch (error) {
    if (result.bootError) return "no: OpenCode does not start"
    // check() asserts the number of loads last: the rest held.
    if (/loaded once/.test(error.message)) return `yes, but loaded ${result.instances} times`
    const failed = String(error.message)
      .split("\n")[0]
      .replace(/^[^:]*: /, "")
    return `no, fails “${failed}”`
  }
}

function handOffs(results) {
  const run = results.find((r) => r.calls?.message)
  if (!run) return "not run"
  if (run.calls.relayDelivered) return "yes (`message` delivered)"
  return `no: ${run.calls.message.status}`
}

function optionsCell(byWay) {
  // The modes the engine offers for these options (status and cancel come with the branch modes).
  const wanted = JSON.stringify(new RelayEngine(SOME_OPTIONS).enabledModes())
  return Object.entries(byWay)
    .map(([way, r]) => {
      const name = way === "tuple" ? "`[name, {…}]`" : "own plugin file"
      if (JSON.stringify(r.enum) === wanted) return `${name}: yes`
      if (r.bootError && /ConfigInvalidError/.test(r.bootError)) return `${name}: no, the config is invalid`
      return `${name}: no (${r.bootError ?? r.errors[0] ?? `offered ${JSON.stringify(r.enum)}`})`
    })
    .join("; ")
}

/**
 * Runs __test__/e2e on `version` and says how it went: the count of tests
 * passed, and the names of those that failed or were skipped (with why).
 */
function endToEnd(version) {
  const dir = path.join(REPO, "__test__", "e2e")
  const files = fs
    .readdirSync(dir)
    .filter((name) => name.endsWith(".test.mjs"))
    .sort()
    .map((name) => path.join(dir, name))
  const run = spawnSync(process.execPath, ["--test", "--test-concurrency=1", "--test-reporter=tap", ...files], {
    encoding: "utf8",
    env: { ...process.env, OPENCODE_VERSION: version },
    maxBuffer: 256 * 1024 * 1024,
  })
  const count = (what) => Number(new RegExp(`^# ${what} (\\d+)$`, "m").exec(run.stdout)?.[1] ?? 0)
  // Subtests are indented; suites (files' describe blocks) are not counted.
  const named = (re) => [...run.stdout.matchAll(re)].map((m) => m[1].replace(/ # SKIP.*$/, ""))
  const failed = named(/^ {4}not ok \d+ - (.+)$/gm)
  const skipped = [...run.stdout.matchAll(/^ {4}ok \d+ - .+ # SKIP (.+)$/gm)].map((m) => m[1])
  const passed = count("pass")
  let cell = failed.length === 0 && skipped.length === 0 ? `all ${passed} pass` : `${passed} pass`
  if (skipped.length > 0) cell += `, ${skipped.length} skipped (${[...new Set(skipped)].join("; ")})`
  if (failed.length > 0) cell += `; fail: ${failed.map((n) => `“${n}”`).join(", ")}`
  return cell
}

const withEndToEnd = process.argv.includes("--e2e")
const log = process.env.E2E_VERBOSE === "1" ? (line) => process.stderr.write(`${line}\n`) : undefined
const work = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "oc-version-table-")))
const rows = []
const started = Date.now()
let mock
try {
  const prepared = await preparePackage(work)
  mock = await startMockModel({ log })
  const expected = await expectedTool()
  for (const version of versions) {
    const results = []
    for (const listing of Object.keys(LISTINGS)) {
      process.stderr.write(`${version} ${LISTINGS[listing]}…\n`)
      results.push(await runCase({ version, listing, prepared, mock, log }))
    }
    const byWay = {}
    for (const way of Object.keys(OPTION_WAYS)) {
      process.stderr.write(`${version} options, ${OPTION_WAYS[way]}…\n`)
      byWay[way] = await runOptionsCase({ version, way, prepared, mock, log })
    }
    const status = results.every((r) => r.calls?.status?.status === "completed") ? "yes" : "no"
    const row = [version, ...results.map((r) => verdict(r, expected)), optionsCell(byWay), status, handOffs(results)]
    if (withEndToEnd) {
      process.stderr.write(`${version} end-to-end suite…\n`)
      row.push(endToEnd(version))
    }
    rows.push(row)
  }
} finally {
  await mock?.close()
  fs.rmSync(work, { recursive: true, force: true })
}

const header = ["OpenCode", "by name", "by path, package directory", `by path, \`${ENTRY_FILE}\``, "options", "`status`", "hand-offs"]
if (withEndToEnd) header.push("end-to-end suite (`__test__/e2e`)")
const table = [`| ${header.join(" | ")} |`, `|${header.map(() => "---").join("|")}|`, ...rows.map((row) => `| ${row.join(" | ")} |`)].join(
  "\n",
)
console.log(table)
process.stderr.write(`${rows.length} releases in ${((Date.now() - started) / 1000).toFixed(0)} s\n`)

if (process.argv.includes("--readme")) {
  const readmePath = path.join(REPO, "README.md")
  const readme = fs.readFileSync(readmePath, "utf8")
  const from = readme.indexOf(START)
  const to = readme.indexOf(END)
  if (from < 0 || to < from) throw new Error(`README.md has no ${START} … ${END} block`)
  fs.writeFileSync(readmePath, `${readme.slice(0, from + START.length)}\n${table}\n${readme.slice(to)}`)
}
