// Cold load: a fresh process imports the plugin and calls its `server`
// function until the hooks are returned, under Node and under the Bun that
// OpenCode embeds (`BUN_BE_BUN=1 opencode script.mjs`). Many runs, median.
//
//   node bench/cold-load.mjs [--runs 30]

import { spawnSync } from "node:child_process"
import path from "node:path"
import { fileURLToPath } from "node:url"
import { resolveOpencodeBin } from "../__test__/e2e/opencode.mjs"
import { emit, load, options } from "./lib/output.mjs"
import { ratio, summarize } from "./lib/stats.mjs"

const opts = options({ runs: 30 })
const loadBefore = load()
const CHILD = path.join(path.dirname(fileURLToPath(import.meta.url)), "cold-load", "child.mjs")

const runtimes = {
  Node: { command: process.execPath, env: {} },
  "Bun (OpenCode's)": { command: resolveOpencodeBin(), env: { BUN_BE_BUN: "1" } },
}
const plugins = ["ours", "baseline", "sdk"]

function once(runtime, plugin) {
  const { command, env } = runtimes[runtime]
  const run = spawnSync(command, [CHILD, plugin], { env: { ...process.env, ...env }, encoding: "utf8", timeout: 30_000 })
  const line = run.stdout?.trim().split("\n").at(-1)
  if (run.status !== 0 || !line) throw new Error(`${runtime} ${plugin}: exit ${run.status}: ${run.stderr || run.error}`)
  return JSON.parse(line)
}

// Every combination once per run, in an order that rotates between runs.
const samples = {}
const combos = Object.keys(runtimes).flatMap((runtime) => plugins.map((plugin) => [runtime, plugin]))
for (let run = 0; run < opts.runs + 1; run++) {
  for (let i = 0; i < combos.length; i++) {
    const [runtime, plugin] = combos[(i + run) % combos.length]
    const { ms, sinceStart } = once(runtime, plugin)
    if (run === 0) continue // the first run warms the file cache
    const key = `${runtime}/${plugin}`
    samples[key] ??= { ms: [], sinceStart: [] }
    samples[key].ms.push(ms)
    samples[key].sinceStart.push(sinceStart)
  }
}

const rows = []
const notes = [
  `${opts.runs} fresh processes per runtime and plugin (after one warm-up round), interleaved; time from the script's first line to the returned hooks.`,
  "Baseline: the pure-JS plugin of bench/baseline/plugin.mjs, whose tool is declared with the same @opencode-ai/plugin (zod).",
]
for (const runtime of Object.keys(runtimes)) {
  const ours = summarize(samples[`${runtime}/ours`].ms)
  const baseline = summarize(samples[`${runtime}/baseline`].ms)
  const sdk = summarize(samples[`${runtime}/sdk`].ms)
  const started = summarize(samples[`${runtime}/ours`].sinceStart)
  rows.push({
    label: `${runtime}: import + server() → hooks`,
    unit: "ms",
    ours,
    baseline: { label: "pure-JS plugin", ...baseline },
    ratio: ratio(ours.median, baseline.median),
    target: "< 20 ms",
    met: ours.median < 20,
  })
  notes.push(
    `${runtime}: importing @opencode-ai/plugin alone takes ${sdk.median.toFixed(1)} ms (median); ` +
      `from process start to the hooks ${started.median.toFixed(1)} ms.`,
  )
}

emit({ bench: "cold-load", title: "5. Cold load", command: "node bench/cold-load.mjs", rows, notes, extra: { samples } }, { loadBefore })
