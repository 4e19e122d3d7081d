// N forks in one turn, each answered by a model that takes D: how long
// until every fork has answered. Ours: from the first fork call starting to
// the last fork's answer completing (OpenCode's own timestamps). Baseline,
// in the same run: the same N forks answered one after another, each a fork
// plus a blocking prompt (≈ N·D), timed by this process.
//
//   node bench/forks.mjs [--counts 1,3,8] [--delay 1000] [--reps 3]

import { performance } from "node:perf_hooks"
import { cue } from "../__test__/e2e/transcript.mjs"
import { answeredAt, blockingPrompt, fork, startedSession, turn, withOpencode } from "./lib/opencode.mjs"
import { emit, load, options } from "./lib/output.mjs"
import { ratio, summarize } from "./lib/stats.mjs"

const opts = options({ counts: [1, 3, 8], delay: 1000, reps: 3 })
const loadBefore = load()
const SLACK_MS = 500 // what "≈ D + small" allows

async function parallel(oc, mock, count, rep) {
  const calls = Array.from({ length: count }, (_, k) => ({ mode: "fork", text: `Alternative ${k + 1} of run ${rep}\nDELAY ${opts.delay}` }))
  const { sessionID, mark, parts } = await turn(oc, cue(...calls))
  if (parts.length !== count) throw new Error(`expected ${count} fork calls, got ${parts.length}`)
  const forks = parts.map(startedSession)
  const answered = await Promise.all(forks.map((id) => answeredAt(oc, id, mark)))
  const started = Math.min(...parts.map((part) => part.state.time.start))
  // Where the time goes: the plugin's part ends when the last tool call
  // returned; the forks' model requests (the mock's clock is the same wall
  // clock) show how long OpenCode took to send them and whether they overlapped.
  const requests = mock.requests.filter((r) => forks.includes(r.sessionID) && r.kind === "chat")
  return {
    ms: Math.max(...answered) - started,
    toolsDone: Math.max(...parts.map((part) => part.state.time.end)) - started,
    lastRequestSent: Math.max(...requests.map((r) => r.at)) - started,
    overlapped: Math.max(...requests.map((r) => r.at)) < Math.min(...requests.map((r) => r.respondedAt)),
    sessionID,
  }
}

async function sequential(oc, count, parent, rep) {
  const start = performance.now()
  for (let k = 0; k < count; k++) {
    const child = await fork(oc, parent)
    await blockingPrompt(oc, child.id, `Alternative ${k + 1} of run ${rep}\nDELAY ${opts.delay}`)
  }
  return performance.now() - start
}

// Every fork of a turn runs at once: the plugin's cap (`maxBranches`, 4 by
// default) would queue the rest, which is not what this row measures.
const results = await withOpencode(
  async ({ oc, mock }) => {
    const out = Object.fromEntries(opts.counts.map((count) => [count, { ours: [], baseline: [], runs: [] }]))
    for (let rep = 0; rep < opts.reps; rep++) {
      for (const count of opts.counts) {
        const run = await parallel(oc, mock, count, rep)
        out[count].ours.push(run.ms)
        out[count].runs.push(run)
        out[count].baseline.push(await sequential(oc, count, run.sessionID, rep))
      }
    }
    return out
  },
  { pluginOptions: { maxBranches: Math.max(...opts.counts) } },
)

const notes = [
  `${opts.reps} runs per N, ours and the baseline alternating; D = ${opts.delay} ms for every fork's answer.`,
  "Ours: first fork call's state.time.start → last fork answer's time.completed. Baseline: N × (POST /session/{id}/fork + blocking POST /session/{id}/message).",
]
for (const count of opts.counts) {
  const { runs } = results[count]
  const at = (key) => summarize(runs.map((run) => run[key])).median.toFixed(0)
  notes.push(
    `N = ${count}: every fork call returned after ${at("toolsDone")} ms, the last fork's model request left OpenCode after ${at("lastRequestSent")} ms ` +
      `(medians); all model requests in flight at once in ${runs.filter((run) => run.overlapped).length} of ${runs.length} runs.`,
  )
}

const rows = opts.counts.map((count) => {
  const ours = summarize(results[count].ours)
  const baseline = summarize(results[count].baseline)
  return {
    label: `${count} fork${count > 1 ? "s" : ""} in one turn, D = ${opts.delay / 1000} s: until all answered`,
    unit: "ms",
    ours,
    baseline: { label: "one after another", ...baseline },
    ratio: ratio(ours.median, baseline.median),
    target: `≈ D + small (≤ ${(opts.delay + SLACK_MS) / 1000} s)`,
    met: ours.median <= opts.delay + SLACK_MS,
  }
})

emit(
  {
    bench: "forks",
    title: "2. Parallel forks in OpenCode",
    command: "node bench/forks.mjs",
    rows,
    notes,
    extra: { runs: Object.fromEntries(opts.counts.map((count) => [count, results[count].runs])) },
  },
  { loadBefore },
)
