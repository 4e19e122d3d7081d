// Relay dispatch in process: from the idle event entering the plugin's
// `event` hook to the prompt request leaving it, against the pure-JS
// baseline plugin; and compact's hand-off from `session.compacted` to the
// prompt. The fake client stamps each request with performance.now().
//
//   node bench/dispatch.mjs [--samples 5000] [--warmup 500] [--compactSamples 2000] [--baselineCompactSamples 20]

import { createPlugin } from "../lib/plugin.js"
import { createBaselinePlugin } from "./baseline/plugin.mjs"
import { compactSample, loadPlugin, messageSample, throwawayStateHome } from "./lib/dispatch-samples.mjs"
import { emit, load, options } from "./lib/output.mjs"
import { ratio, summarize } from "./lib/stats.mjs"

throwawayStateHome()

const opts = options({ samples: 5000, warmup: 500, compactSamples: 2000, baselineCompactSamples: 20 })
const loadBefore = load()

/** Runs `sample` on both plugins in turn, alternating which goes first. */
async function interleaved(plugins, counts, sample, prefix) {
  const times = plugins.map(() => [])
  const rounds = Math.max(...counts)
  for (let i = 0; i < rounds; i++) {
    const order = i % 2 ? [1, 0] : [0, 1]
    for (const p of order) {
      if (i < counts[p]) times[p].push(await sample(plugins[p], `${prefix}_${p}_${i}`))
    }
  }
  return times
}

const ours = await loadPlugin((input) => createPlugin(input, {}))
const baseline = await loadPlugin((input) => createBaselinePlugin(input))
const plugins = [ours, baseline]

await interleaved(plugins, [opts.warmup, opts.warmup], messageSample, "ses_warm")
const [oursMessage, baseMessage] = await interleaved(plugins, [opts.samples, opts.samples], messageSample, "ses_msg")
const [oursCompact, baseCompact] = await interleaved(plugins, [opts.compactSamples, opts.baselineCompactSamples], compactSample, "ses_cmp")

// Milliseconds → microseconds for readability.
const micro = (list) => summarize(list.map((ms) => ms * 1000))
const rows = [
  {
    label: "`message` relay: idle event in → prompt out",
    unit: "µs",
    ours: micro(oursMessage),
    baseline: { label: "pure-JS Map queue", ...micro(baseMessage) },
    target: "p99 < 2 ms",
  },
  {
    label: "`compact`: session.compacted in → prompt out",
    unit: "µs",
    ours: micro(oursCompact),
    baseline: { label: "earlier plugin: fixed 100 ms sleep", ...micro(baseCompact) },
    target: "no fixed sleep",
  },
]
rows[0].met = rows[0].ours.p99 < 2000
rows[1].met = rows[1].ours.p99 < 2000
for (const row of rows) row.ratio = ratio(row.ours.median, row.baseline.median)

emit(
  {
    bench: "dispatch",
    title: "3. Relay dispatch (in process, fake client)",
    command: "node bench/dispatch.mjs",
    rows,
    notes: [
      `${opts.samples} message relays per plugin after ${opts.warmup} warm-up ones, interleaved; compact: ${opts.compactSamples} ours, ${opts.baselineCompactSamples} baseline.`,
      "Compact: the summarize answer, session.status busy/idle and session.idle arrive right behind session.compacted, as OpenCode sends them.",
    ],
  },
  { loadBefore },
)
