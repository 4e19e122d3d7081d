// How long the `session` tool takes to return in `new` and `fork` mode in a
// real `opencode serve`, while the started session's model answers after D.
// Ours: the tool part's running → completed times, as OpenCode records them.
// Baseline, in the same run: a blocking prompt on a new (or forked) session,
// as a plugin that awaits the answer would make (create or fork, then
// POST /session/{id}/message), timed by this process.
//
//   node bench/tool-return.mjs [--samples 20] [--delays 500,2000]

import { performance } from "node:perf_hooks"
import { cue } from "../__test__/e2e/transcript.mjs"
import { answeredAt, blockingPrompt, fork, startedSession, turn, withOpencode } from "./lib/opencode.mjs"
import { emit, load, options } from "./lib/output.mjs"
import { ratio, summarize } from "./lib/stats.mjs"

const opts = options({ samples: 20, delays: [500, 2000] })
const loadBefore = load()

/** One `mode` call whose started session answers after `delay` ms. */
async function toolReturn(oc, mock, mode, delay, n) {
  const { sessionID, mark, parts } = await turn(oc, cue({ mode, text: `Task ${n}\nDELAY ${delay}` }))
  const [part] = parts
  // Cross-check from the model's side: the request carrying the tool result
  // arrives this long after the tool call was streamed to OpenCode.
  const [call, result] = mock.requests.filter((r) => r.sessionID === sessionID && r.kind === "chat")
  return {
    ms: part.state.time.end - part.state.time.start,
    modelGap: result && call.respondedAt ? result.at - call.respondedAt : NaN,
    sessionID,
    started: startedSession(part),
    mark,
  }
}

async function blocking(oc, mode, delay, parent, n) {
  const start = performance.now()
  const session = mode === "new" ? await oc.createSession(`baseline ${n}`) : await fork(oc, parent)
  await blockingPrompt(oc, session.id, `Task ${n}\nDELAY ${delay}`)
  return performance.now() - start
}

/**
 * What the tool's own requests cost when this process makes them, one after
 * another: the floor under the tool's return time.
 */
async function requestCosts(oc, count) {
  const { sessionID: parent } = await turn(oc, "A turn to fork")
  const costs = { "GET /agent": [], "POST /session": [], "POST /session/{id}/fork": [], "POST /session/{id}/prompt_async": [] }
  const timed = async (name, request) => {
    const start = performance.now()
    const answer = await request()
    costs[name].push(performance.now() - start)
    return answer
  }
  for (let n = 0; n < count; n++) {
    await timed("GET /agent", () => oc.agents())
    const session = await timed("POST /session", () => oc.createSession(`cost ${n}`))
    await timed("POST /session/{id}/fork", () => fork(oc, parent))
    const mark = await timed("POST /session/{id}/prompt_async", () => oc.promptAsync(session.id, "Task\nDELAY 100", "build"))
    await answeredAt(oc, session.id, mark)
  }
  return Object.fromEntries(Object.entries(costs).map(([name, list]) => [name, summarize(list)]))
}

const results = await withOpencode(async ({ oc, mock }) => {
  const out = {}
  for (const delay of opts.delays) {
    const ours = { new: [], fork: [] }
    const gaps = { new: [], fork: [] }
    const baseline = { new: [], fork: [] }
    for (let n = 0; n < opts.samples; n++) {
      const created = await toolReturn(oc, mock, "new", delay, n)
      const forked = await toolReturn(oc, mock, "fork", delay, n)
      for (const [mode, sample] of [
        ["new", created],
        ["fork", forked],
      ]) {
        ours[mode].push(sample.ms)
        gaps[mode].push(sample.modelGap)
      }
      // The blocking baseline alternates between the modes; while it waits,
      // the two sessions started above answer, so the next sample starts quiet.
      const mode = n % 2 ? "fork" : "new"
      baseline[mode].push(await blocking(oc, mode, delay, forked.sessionID, n))
      await answeredAt(oc, created.started, created.mark)
      await answeredAt(oc, forked.started, forked.mark)
    }
    out[delay] = { ours, gaps, baseline }
  }
  out.requests = await requestCosts(oc, opts.samples / 2)
  return out
})

const rows = []
const notes = [
  `${opts.samples} calls per mode and D; the blocking baseline alternates between new and fork (${Math.ceil(opts.samples / 2)} each per D).`,
  "Ours: tool part state.time.end − state.time.start. Model gap: from the end of the streamed tool call to the arrival of the request carrying its result (includes OpenCode's own step handling).",
]
for (const delay of opts.delays) {
  for (const mode of ["new", "fork"]) {
    const { ours, gaps, baseline } = results[delay]
    const mine = summarize(ours[mode])
    const base = summarize(baseline[mode])
    rows.push({
      label: `\`${mode}\` tool return, D = ${delay / 1000} s`,
      unit: "ms",
      ours: mine,
      baseline: { label: "blocking prompt", ...base },
      ratio: ratio(mine.median, base.median),
      target: "median and p95 < 50 ms",
      met: mine.median < 50 && mine.p95 < 50,
      modelGap: summarize(gaps[mode]),
    })
    notes.push(`\`${mode}\`, D = ${delay / 1000} s: model gap median ${summarize(gaps[mode]).median.toFixed(0)} ms.`)
  }
}
if (opts.delays.length > 1) {
  const [low, high] = [opts.delays[0], opts.delays.at(-1)]
  for (const mode of ["new", "fork"]) {
    const shift = summarize(results[high].ours[mode]).median - summarize(results[low].ours[mode]).median
    notes.push(
      `\`${mode}\`: median at D = ${high / 1000} s minus at D = ${low / 1000} s: ${shift >= 0 ? "+" : ""}${shift.toFixed(1)} ms (independent of D).`,
    )
  }
}

notes.push(
  `The tool's requests, made one by one from this process: ${Object.entries(results.requests)
    .map(([name, cost]) => `${name} ${cost.median.toFixed(1)} ms`)
    .join(", ")} (medians).`,
)

emit(
  {
    bench: "tool-return",
    title: "1. `new` / `fork` tool return in OpenCode",
    command: "node bench/tool-return.mjs",
    rows,
    notes,
    extra: { requests: results.requests },
  },
  { loadBefore },
)
