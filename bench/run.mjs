// Runs every bench (or the named ones), each in a fresh process, keeps their
// JSON results in bench/results/ and regenerates BENCHMARKS.md from them.
//
//   npm run bench                         all benches once (a few minutes)
//   npm run bench -- --runs 2             all twice, interleaved: BENCHMARKS.md shows the spread
//   npm run bench -- dispatch cold-load   only these; the other results are kept
//   npm run bench -- --no-build           skip `npm run build` (the native engine must exist)

import { spawn, spawnSync } from "node:child_process"
import fs from "node:fs"
import path from "node:path"
import { parseArgs } from "node:util"
import { BENCHES } from "./lib/benches.mjs"
import { machineFacts } from "./lib/machine.mjs"
import { REPO } from "./lib/opencode.mjs"
import { load } from "./lib/output.mjs"
import { RESULTS, writeReport } from "./report.mjs"

const LIMIT_MS = 10 * 60_000

const { values, positionals } = parseArgs({
  options: { runs: { type: "string", default: "1" }, "no-build": { type: "boolean", default: false } },
  allowPositionals: true,
})
const runs = Number(values.runs)
const unknown = positionals.filter((name) => !BENCHES.some((bench) => bench.name === name))
if (unknown.length || !(runs >= 1)) {
  console.error(`usage: npm run bench -- [--runs N] [--no-build] [${BENCHES.map((b) => b.name).join(" | ")} ...]`)
  process.exit(2)
}
const chosen = positionals.length ? BENCHES.filter((bench) => positionals.includes(bench.name)) : BENCHES

if (!values["no-build"]) {
  console.log("== npm run build")
  const built = spawnSync("npm", ["run", "build"], { cwd: REPO, stdio: "inherit" })
  if (built.status !== 0) process.exit(built.status ?? 1)
}

/** Runs one bench, echoing its output, and returns the JSON line it printed. */
function runBench({ name, command }) {
  return new Promise((resolve, reject) => {
    const child = spawn(command[0], command.slice(1), { cwd: REPO, stdio: ["ignore", "pipe", "inherit"] })
    const timer = setTimeout(() => child.kill("SIGTERM"), LIMIT_MS)
    let out = ""
    child.stdout.setEncoding("utf8")
    child.stdout.on("data", (chunk) => {
      out += chunk
      process.stdout.write(chunk)
    })
    child.on("error", reject)
    child.on("close", (code, signal) => {
      clearTimeout(timer)
      const line = out.split("\n").findLast((l) => l.startsWith('{"bench":'))
      if (code !== 0 || !line) return reject(new Error(`${name} failed (exit ${code ?? signal}); see its output above`))
      resolve(JSON.parse(line))
    })
  })
}

/** The engine bench prints raw figures; turn them into rows like the other benches'. */
function engineScaleResult(raw) {
  const rows = []
  for (const size of raw.sizes) {
    const sessions = size.sessions.toLocaleString("en-US")
    rows.push({
      label: `${sessions} sessions with a queued relay: engine memory`,
      unit: "MB",
      ours: { value: size.bytesQueued / 1e6 },
      target: size.sessions === 10_000 ? "< 10 MB" : undefined,
      met: size.sessions === 10_000 ? size.bytesQueued < 10e6 : undefined,
    })
    rows.push({
      label: `${sessions} sessions: inputs handled per second`,
      unit: "M/s",
      ours: { value: size.inputsPerSecond.all / 1e6 },
      target: "> 1 M/s",
      met: size.inputsPerSecond.all > 1e6,
    })
  }
  const notes = raw.sizes.map(
    (size) =>
      `${size.sessions.toLocaleString("en-US")} sessions: ${size.bytesPerSession.toFixed(0)} bytes per session ` +
      `(×${size.bytesPerSessionVsFirst.toFixed(2)} of the smallest size), ${(size.bytesPromptsInFlight / 1e6).toFixed(2)} MB once every prompt is in flight; ` +
      `inputs/s queueing ${(size.inputsPerSecond.queue / 1e6).toFixed(2)} M, delivering ${(size.inputsPerSecond.deliver / 1e6).toFixed(2)} M ` +
      `(median of ${size.repetitions} repetitions).`,
  )
  notes.push(
    "An input is one handle_* call followed by draining its actions. Per session: a tool call and its agent list (queue), then status idle, session.idle, the prompt's outcome, busy, idle, session.idle (deliver); each stage runs across all sessions.",
    "Memory: live bytes counted by a global allocator wrapper; the timing includes its two relaxed atomic updates per allocation.",
  )
  return { bench: raw.bench, title: "7. Engine scale (cargo bench)", command: raw.command, rows, notes, load: raw.load, extra: raw }
}

const machine = machineFacts()
const collected = Object.fromEntries(chosen.map((bench) => [bench.name, []]))
for (let run = 1; run <= runs; run++) {
  for (const bench of chosen) {
    console.log(`\n== ${bench.name}${runs > 1 ? ` (run ${run} of ${runs})` : ""}: ${bench.command.join(" ")}`)
    const before = load()
    const result = await runBench(bench)
    result.load ??= { before, after: load() }
    collected[bench.name].push(bench.name === "engine-scale" ? engineScaleResult(result) : result)
  }
}

fs.mkdirSync(RESULTS, { recursive: true })
fs.writeFileSync(
  path.join(RESULTS, "machine.json"),
  `${JSON.stringify({ ...machine, loadAverageAtEnd: machineFacts().loadAverage }, null, 2)}\n`,
)
for (const [name, results] of Object.entries(collected)) {
  fs.writeFileSync(path.join(RESULTS, `${name}.json`), `${JSON.stringify({ runs: results }, null, 2)}\n`)
}
const written = writeReport()
console.log(`\nWrote ${path.relative(REPO, written)} from ${path.relative(REPO, RESULTS)}/.`)
