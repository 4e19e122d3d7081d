// Cost of the plugin's `event` hook per event that cannot matter to a relay
// (the thousands of streaming events of every turn), against the pure-JS
// baseline plugin's hook, in the same process, in interleaved rounds.
//
//   node bench/event-hook.mjs [--events 200000] [--rounds 15]

import { mkdtempSync } from "node:fs"
import os from "node:os"
import path from "node:path"
import { fakeClient } from "../__test__/fake-client.mjs"
import { RelayEngine } from "../index.js"
import { bindInputs } from "../lib/driver.js"
import { createPlugin } from "../lib/plugin.js"
import { createBaselinePlugin } from "./baseline/plugin.mjs"
import { emit, load, options } from "./lib/output.mjs"
import { median, quantile } from "./lib/stats.mjs"

// The plugin keeps pending hand-offs under XDG_STATE_HOME: a throwaway directory here.
process.env.XDG_STATE_HOME = mkdtempSync(path.join(os.tmpdir(), "bench-state-"))

const opts = options({ events: 200_000, rounds: 21 })
const loadBefore = load()
/**
 * How far apart the same JS code measures between processes: V8's inlining
 * and tiering decisions differ from run to run by a few percent.
 */
const NOISE = 0.05
const POOL = 1024 // distinct event objects per kind, as OpenCode sends a new object each time

const ids = (i) => ({ sessionID: `ses_${i % 7}`, messageID: `msg_${i}`, partID: `prt_${i}` })
const kinds = {
  "message.part.delta": (i) => ({ type: "message.part.delta", properties: { ...ids(i), field: "text", delta: `token ${i} ` } }),
  "message.part.updated": (i) => ({
    type: "message.part.updated",
    properties: { part: { id: `prt_${i}`, ...ids(i), type: "text", text: "Some streamed text ".repeat(4), time: { start: i } } },
  }),
  "message.updated": (i) => ({
    type: "message.updated",
    properties: { info: { id: `msg_${i}`, sessionID: `ses_${i % 7}`, role: "assistant", agent: "build", time: { created: i } } },
  }),
  "session.diff": (i) => ({ type: "session.diff", properties: { sessionID: `ses_${i % 7}`, diff: [] } }),
}
// What a streaming turn looks like: mostly deltas, then part and message updates.
const MIX = [
  "message.part.delta",
  "message.part.delta",
  "message.part.delta",
  "message.part.delta",
  "message.part.delta",
  "message.part.delta",
  "message.part.updated",
  "message.part.updated",
  "message.updated",
  "session.diff",
]

const pool = (make) => Array.from({ length: POOL }, (_, i) => make(i))
const pools = Object.fromEntries(Object.entries(kinds).map(([name, make]) => [name, pool(make)]))
pools["streaming mix"] = pool((i) => kinds[MIX[i % MIX.length]](i))
// A relevant type for a session that has nothing queued: this one does reach the engine.
const statusPool = pool((i) => ({ type: "session.status", properties: { sessionID: `ses_other_${i % 7}`, status: { type: "busy" } } }))

/** A separate copy of the timing loop per hook, so neither shares the other's call-site feedback. */
function timingLoop() {
  return new Function(
    "hook",
    "events",
    "count",
    `const mask = events.length - 1
     const start = process.hrtime.bigint()
     for (let i = 0; i < count; i++) hook({ event: events[i & mask] })
     return Number(process.hrtime.bigint() - start) / count`,
  )
}

const client = fakeClient().client
const input = { client, directory: "/tmp/bench", worktree: "/tmp/bench" }
const ours = (await createPlugin(input, {})).event
const baseline = (await createBaselinePlugin(input)).event
// A second, identical pure-JS hook, from a second instance of the module: how
// far two equal hooks measure apart. (Two closures of one function would not
// do: V8 optimizes a function with several closures less than one with one.)
const control = (await (await import("./baseline/plugin.mjs?control")).createBaselinePlugin(input)).event
// Without the filter every event would cross: one call with its session id,
// the cheapest input the engine takes (a busy session with nothing queued),
// bound as the driver binds it.
const engine = bindInputs(new RelayEngine())
const unfiltered = async ({ event }) => {
  const p = event.properties
  return engine.status(0, p.sessionID ?? p.part?.sessionID ?? p.info.sessionID, true)
}

/** ns/event of each hook on `events` in every round; which hook goes first rotates. */
function rounds(hooks, events, count) {
  const loops = hooks.map(() => timingLoop())
  const times = hooks.map(() => [])
  for (let round = 0; round < opts.rounds + 2; round++) {
    const order = hooks.map((_, i) => (i + round) % hooks.length)
    for (const i of order) {
      const ns = loops[i](hooks[i], events, count)
      if (round >= 2) times[i].push(ns) // two warm-up rounds
    }
  }
  return times
}

/** Median and quartiles of the per-round ratios of `times` to `base`. */
function paired(times, base) {
  const ratios = times.map((ns, i) => ns / base[i])
  return { median: median(ratios), quartiles: [quantile(ratios, 0.25), quantile(ratios, 0.75)] }
}

/**
 * A row comparing hook `a` with hook `b`: the fastest round of each (other
 * load on the machine only ever adds time), and the ratio as the median of
 * the per-round ratios. With `target`, the control hook (an identical copy of
 * `b`) runs in the same rounds, to show how far two equal hooks measure
 * apart; the target is met within NOISE.
 */
function row(label, [a, b], events, { baselineLabel, count = opts.events, target } = {}) {
  const [timesA, timesB, timesControl] = rounds(target === undefined ? [a, b] : [a, b, control], events, count)
  const ratio = paired(timesA, timesB)
  const out = {
    label,
    unit: "ns/event",
    ours: { value: Math.min(...timesA) },
    baseline: { label: baselineLabel, value: Math.min(...timesB) },
    ratio: ratio.median,
    ratioQuartiles: ratio.quartiles,
  }
  if (target !== undefined) {
    const same = paired(timesControl, timesB)
    out.control = same
    out.target = `ratio ≤ ${target.toFixed(1)} (±${NOISE * 100}%)`
    out.met = ratio.median <= target * (1 + NOISE)
  }
  return out
}

// Every hook sees every kind of event before anything is timed, so none is
// measured while V8 still learns its shapes.
for (const events of [...Object.values(pools), statusPool]) rounds([ours, baseline, control], events, opts.events / 10)

const quartiles = ([low, high]) => `${low.toFixed(2)}–${high.toFixed(2)}`

const rows = []
for (const [name, events] of Object.entries(pools)) {
  const label = name === "streaming mix" ? "streaming mix (60% delta)" : `\`${name}\``
  rows.push(row(label, [ours, baseline], events, { baselineLabel: "pure-JS filter", target: 1.0 }))
}
const native = opts.events / 10 // these cross into native code and take far longer each
rows.push(
  row("`session.status` of a session with nothing queued (reaches the engine)", [ours, baseline], statusPool, {
    baselineLabel: "pure-JS Map lookup",
    count: native,
  }),
)
rows.push(
  row("(reference) streaming mix without the JS filter: every event into native", [unfiltered, ours], pools["streaming mix"], {
    baselineLabel: "ours, filtered",
    count: native,
  }),
)

emit(
  {
    bench: "event-hook",
    title: "4. Event-hook cost per event",
    command: "node bench/event-hook.mjs",
    rows,
    notes: [
      `${opts.events.toLocaleString("en-US")} hook calls per round (a tenth for the last two rows), ${opts.rounds} rounds after 2 warm-up rounds; which hook goes first rotates.`,
      `ns/event: the fastest round; ratio: median of the per-round ratios. Control: a second copy of the pure-JS hook from a second instance of its module, measured in the same rounds. A ratio ≤ 1.0 counts as met within ${NOISE * 100}%: identical JS measures that far apart from process to process.`,
      `Ours ÷ baseline, quartiles | control ÷ baseline, median (quartiles): ${rows
        .filter((r) => r.control)
        .map((r) => `${r.label} ${quartiles(r.ratioQuartiles)} | ${r.control.median.toFixed(2)} (${quartiles(r.control.quartiles)})`)
        .join("; ")}.`,
      "Baseline: the same hook in a pure-JS plugin, async ({event}) => { if (RELEVANT.has(event?.type)) handle(event) }.",
    ],
  },
  { loadBefore },
)
