// Row 3 of BENCHMARKS.md for two builds side by side: the plugin of checkout A
// and of checkout B (each its own lib/ and native addon, loaded in this one
// process through its own `createPlugin`) and the pure-JS baseline take turns,
// in every order, relay after relay. On a machine whose speed drifts, builds
// compare best this way: run it with A and B the same checkout to see what
// the B ÷ A of two equal builds is.
//
//   node bench/dispatch-ab.mjs --a <checkout> --b <checkout> [--samples 5000] [--warmup 500] [--repeats 1]
//
// Both checkouts must be built (`npm run build`). A diagnostic for the
// dispatch row, not one of the rows of BENCHMARKS.md.

import path from "node:path"
import { pathToFileURL } from "node:url"
import { createBaselinePlugin } from "./baseline/plugin.mjs"
import { loadPlugin, messageSample, throwawayStateHome } from "./lib/dispatch-samples.mjs"
import { options } from "./lib/output.mjs"
import { median } from "./lib/stats.mjs"

throwawayStateHome()

const opts = options({ a: "", b: "", samples: 5000, warmup: 500, repeats: 1 })
if (!opts.a || !opts.b) {
  console.error("usage: node bench/dispatch-ab.mjs --a <checkout> --b <checkout> [--samples N] [--warmup N] [--repeats N]")
  process.exit(2)
}

/** The `createPlugin` of a checkout. Named twice, a checkout is imported once: both plugins run the same code, each with its own engine. */
async function createPluginOf(checkout) {
  const entry = pathToFileURL(path.resolve(checkout, "lib", "plugin.js")).href
  return (await import(entry)).createPlugin
}

/** A, B and the baseline, in the order the results are read back. */
const creators = [await createPluginOf(opts.a), await createPluginOf(opts.b), createBaselinePlugin]
const plugins = await Promise.all(creators.map((create) => loadPlugin((input) => create(input, {}))))

/** Every order of the three, taken in turn, so that none always runs after another. */
const ORDERS = [
  [0, 1, 2],
  [1, 2, 0],
  [2, 0, 1],
  [0, 2, 1],
  [1, 0, 2],
  [2, 1, 0],
]

let session = 0
for (let repeat = 1; repeat <= opts.repeats; repeat++) {
  const times = plugins.map(() => [])
  for (let round = 0; round < opts.warmup + opts.samples; round++) {
    for (const p of ORDERS[round % ORDERS.length]) {
      const micros = (await messageSample(plugins[p], `ses_ab_${p}_${session++}`)) * 1000
      if (round >= opts.warmup) times[p].push(micros)
    }
  }
  const [a, b, baseline] = times.map(median)
  const figure = (label, value) => `${label} ${value.toFixed(2)} µs (${(value / baseline).toFixed(2)}×)`
  console.log(`${repeat}: ${figure("A", a)}  ${figure("B", b)}  baseline ${baseline.toFixed(2)} µs  B ÷ A ${(b / a).toFixed(3)}`)
}
console.log(
  `A = ${path.resolve(opts.a)}, B = ${path.resolve(opts.b)}; medians of ${opts.samples} relays each after ${opts.warmup} warm-up rounds.`,
)
