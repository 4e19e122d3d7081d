// The native call alone of the idle edge that starts a queued `message`
// relay (row 3's engine part), against a `status` call that changes nothing:
// the engine is driven directly, with no plugin, driver or fake client
// around it, and `process.hrtime` is read around each call.
//
//   node bench/idle-edge-native.mjs [--samples 20000] [--warmup 2000]
//
// A diagnostic for the dispatch row, not one of the rows of BENCHMARKS.md.

import { RelayEngine } from "../index.js"
import { bindInputs } from "../lib/driver.js"
import { options } from "./lib/output.mjs"
import { quantile, summarize } from "./lib/stats.mjs"

const opts = options({ samples: 20_000, warmup: 2_000 })
// As the driver sets it up: inputs bound, notices off, prompts and log lines as compact lines.
const engine = bindInputs(new RelayEngine(null))
engine.wantNotices(false)
engine.compactActions(true)

const NOW = 1_000
const AGENTS = [
  { name: "build", mode: "primary" },
  { name: "plan", mode: "primary" },
]

/** The id of the first request in a drain's text (a JSON line or a compact prompt line). */
function requestId(text) {
  const found = /"id":(\d+)|^P(\d+),/m.exec(text ?? "")
  if (!found) throw new Error(`no request in ${text}`)
  return Number(found[1] ?? found[2])
}

/** A busy session with one `message` relay queued, its agents listed and its permission granted. */
function queueRelay(sessionId) {
  engine.status(NOW, sessionId, true)
  const started = JSON.parse(
    engine.toolCall(NOW, {
      sessionId,
      callerAgent: "build",
      text: "Review the auth module",
      mode: "message",
      agent: "plan",
      messageId: "msg_1",
    }),
  )
  const asked = engine.outcome(NOW, started.drain.actions[0].id, { type: "agents", agents: AGENTS })
  engine.outcome(NOW, requestId(asked), { type: "done" })
}

const clock = process.hrtime.bigint
const edge = []
const nothing = []
for (let i = 0; i < opts.warmup + opts.samples; i++) {
  const sessionId = `ses_${i}`
  queueRelay(sessionId)
  let start = clock()
  const drain = engine.status(NOW, sessionId, false)
  const edgeNs = Number(clock() - start)
  // The prompt is accepted and its answer's turn runs and ends: nothing stays.
  engine.outcome(NOW, requestId(drain), { type: "done" })
  engine.status(NOW, sessionId, true)
  start = clock()
  engine.status(NOW, "ses_with_nothing", true)
  const nothingNs = Number(clock() - start)
  engine.status(NOW, sessionId, false)
  if (i >= opts.warmup) {
    edge.push(edgeNs / 1000)
    nothing.push(nothingNs / 1000)
  }
}

for (const [label, list] of [
  ["idle edge that starts a queued relay", edge],
  ["status of a session with nothing", nothing],
]) {
  const { median, p95 } = summarize(list)
  console.log(
    `${label}: median ${median.toFixed(2)} µs, quartiles ${quantile(list, 0.25).toFixed(2)}–${quantile(list, 0.75).toFixed(2)}, p95 ${p95.toFixed(2)} (n=${list.length})`,
  )
}
