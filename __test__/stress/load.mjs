// Load in a real `opencode serve`: many sessions at once, each a chain of
// hand-offs (message, fork and compact mixed) scripted by the model server.
// Counts how often each hand-off was answered and measures OpenCode's memory
// (the plugin runs inside it) before the load, after it, and once every
// session is deleted.
//
//   node __test__/stress/load.mjs [--sessions 100] [--relays 10] [--copies 1]
//
// `--copies 2` lists the plugin twice in opencode.json (see PLUGIN_SPECS), as
// a project that names it both by directory and by entry file would.
//
// The scripted model reads `RELAY <label> <k>/<n> <modes>` and answers step
// k < n by calling `session` with the next mode; see mock-model.mjs.

import fs from "node:fs"
import path from "node:path"
import { fileURLToPath } from "node:url"
import { parseArgs } from "node:util"
import { parseCues } from "../e2e/mock-model.mjs"
import { ERROR_LINE } from "../e2e/opencode.mjs"
import { bootWithPlugin, shutdown } from "../e2e/suite.mjs"
import { toolParts } from "../e2e/transcript.mjs"

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..")
/** Ways to list this plugin in opencode.json that each make an instance of it. */
export const PLUGIN_SPECS = [REPO, path.join(REPO, "lib", "opencode-sessions.js")]

/** Three orders of the modes, so chains fork and compact at different steps. */
const MODE_PATTERNS = [
  ["message", "fork", "compact", "message", "message"],
  ["fork", "message", "compact", "fork", "message"],
  ["compact", "message", "fork", "message", "fork"],
]

/**
 * Runs `sessions` chains of `relays` hand-offs each, all started at once.
 * Resolves with the counts and measures; never throws for a lost or doubled
 * hand-off (the caller decides), only when the run cannot finish.
 */
export async function runLoad({ sessions = 100, relays = 10, copies = 1, timeoutMs = 35 * 60_000, progress = () => {} } = {}) {
  // Each chain is `relays` hops without a person writing in between.
  const pluginOptions = { maxHops: relays + 1 }
  const extraConfig = copies > 1 ? { plugin: PLUGIN_SPECS.slice(0, copies).map((spec) => [spec, pluginOptions]) } : undefined
  const env = await bootWithPlugin({ pluginOptions, extraConfig })
  const { mock, oc } = env
  try {
    const before = { rssKiB: openCodeRssKiB(oc), engine: await engineStats(oc) }
    const chains = Array.from({ length: sessions }, (_, i) => {
      const modes = Array.from({ length: relays }, (_, k) => MODE_PATTERNS[i % 3][k % 5])
      return { label: `chain${i}`, modes }
    })
    const started = Date.now()
    await Promise.all(
      chains.map(async ({ label, modes }) => {
        const session = await oc.createSession(`load ${label}`)
        await oc.promptAsync(session.id, `RELAY ${label} 0/${relays} ${modes.join(",")}`, "build")
      }),
    )
    const expected = sessions * relays
    for (let answered = countAnswers(mock, relays).answered; answered < expected; answered = countAnswers(mock, relays).answered) {
      if (Date.now() - started > timeoutMs) break
      progress(`${answered}/${expected} hand-offs answered after ${((Date.now() - started) / 1000).toFixed(0)} s`)
      await sleep(5000)
    }
    await waitUntilAllIdle(oc, Math.max(60_000, timeoutMs - (Date.now() - started)))
    const wallMs = Date.now() - started
    // Branch reports are notes sent once each branch's turn ends; let them land.
    await sleep(3000)
    const counts = countAnswers(mock, relays)
    const afterLoad = { rssKiB: openCodeRssKiB(oc), engine: await engineStats(oc) }
    const toolErrors = await failedToolCalls(oc)

    for (const session of await allSessions(oc)) await oc.api("DELETE", `/session/${session.id}`)
    await sleep(2000)
    const afterDelete = { rssKiB: openCodeRssKiB(oc), engine: await engineStats(oc) }

    const log = oc.readLog().split("\n")
    return {
      sessions,
      relays,
      copies,
      expected,
      wallMs,
      counts,
      toolErrors,
      memory: { before, afterLoad, afterDelete },
      errorLog: log.filter((l) => ERROR_LINE.test(l)).slice(0, 20),
      // What the plugin said of lists a stopped OpenCode left: toasts and log lines.
      stoppedReports: [
        ...oc.events
          .filter((e) => e.type === "tui.toast.show" && /OpenCode stopped/.test(e.properties?.title))
          .map((e) => e.properties.title),
        ...log.filter((l) => /OpenCode stopped|left by a stopped OpenCode/.test(l)),
      ],
      // A copy of the plugin that finds another one serving the project says so in the log.
      inactiveCopies: log.filter((l) => /opencode-sessions is loaded twice for this project/.test(l)).length,
      modelRequests: mock.requests.length,
    }
  } finally {
    await shutdown(env)
  }
}

/**
 * How often each chain step was answered: a model request whose last
 * message is the user message carrying the step (not a tool-result follow-up).
 */
export function countAnswers(mock, relays) {
  const seen = new Map()
  for (const request of mock.requests) {
    if (request.kind !== "chat" || request.lastRole !== "user") continue
    const chain = parseCues(request.lastUserText).chain
    if (!chain || chain.step === 0) continue
    const key = `${chain.label} ${chain.step}`
    seen.set(key, (seen.get(key) ?? 0) + 1)
  }
  const doubled = [...seen].filter(([, n]) => n > 1).map(([key, n]) => `${key} ×${n}`)
  const chains = new Set([...seen.keys()].map((key) => key.split(" ")[0]))
  const lost = []
  for (const label of chains) {
    for (let step = 1; step <= relays; step++) if (!seen.has(`${label} ${step}`)) lost.push(`${label} ${step}`)
  }
  return { answered: seen.size, doubled, lost }
}

/** The plugin's own numbers, from the footer `status` prints, asked in a fresh session. */
async function engineStats(oc) {
  const session = await oc.createSession("load status")
  await oc.promptAsync(session.id, 'CALL session {"mode":"status"}', "build")
  await oc.waitForIdle(session.id, { timeoutMs: 60_000 })
  const messages = await oc.messages(session.id)
  const output = toolParts(messages)[0]?.state?.output ?? ""
  await oc.api("DELETE", `/session/${session.id}`)
  return /Across all sessions: .*/.exec(output)?.[0] ?? `no status footer in: ${output}`
}

/** `session` tool calls that ended in an error, over every session left. */
async function failedToolCalls(oc) {
  const failed = []
  for (const session of await allSessions(oc)) {
    for (const part of toolParts(await oc.messages(session.id))) {
      if (part.state?.status === "error") failed.push(`${session.id}: ${part.state.error}`)
    }
  }
  return failed
}

/** Every session: GET /session lists 100 unless told otherwise. */
const allSessions = (oc) => oc.api("GET", "/session", undefined, { query: { limit: 100_000 } })

async function waitUntilAllIdle(oc, timeoutMs) {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    const busy = Object.values(await oc.api("GET", "/session/status")).filter((s) => s.type !== "idle")
    if (busy.length === 0) return
    await sleep(1000)
  }
  throw new Error(`sessions still busy after ${timeoutMs} ms`)
}

/** Resident memory of the OpenCode server: the largest process of its group. */
export function openCodeRssKiB(oc) {
  let largest = 0
  for (const pid of fs.readdirSync("/proc").filter((name) => /^\d+$/.test(name))) {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8")
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
      if (Number(fields[2]) !== oc.pid) continue
      const rss = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"))
      if (rss) largest = Math.max(largest, Number(rss[1]))
    } catch {
      // the process ended meanwhile
    }
  }
  return largest
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({
    options: {
      sessions: { type: "string", default: "100" },
      relays: { type: "string", default: "10" },
      copies: { type: "string", default: "1" },
    },
  })
  const result = await runLoad({
    sessions: Number(values.sessions),
    relays: Number(values.relays),
    copies: Number(values.copies),
    progress: (line) => console.error(line),
  })
  console.log(JSON.stringify(result, null, 2))
}
