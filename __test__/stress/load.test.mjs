// Many sessions × 10 hand-offs at once in a real `opencode serve`: every
// hand-off answered exactly once, and the plugin forgets every session that
// was deleted. LOAD_SESSIONS (default 10; .ci/run sets 100) and LOAD_RELAYS
// change the size.

import assert from "node:assert/strict"
import { test } from "node:test"
import { runLoad } from "./load.mjs"

const sessions = Number(process.env.LOAD_SESSIONS ?? 10)
const relays = Number(process.env.LOAD_RELAYS ?? 10)

test(`${sessions} sessions × ${relays} hand-offs (message, fork, compact): each delivered once`, { timeout: 45 * 60_000 }, async (t) => {
  const result = await runLoad({ sessions, relays, progress: (line) => t.diagnostic(line) })
  const { before, afterLoad, afterDelete } = result.memory
  t.diagnostic(
    `${result.counts.answered}/${result.expected} answered in ${(result.wallMs / 1000).toFixed(1)} s; ` +
      `${result.modelRequests} model requests; OpenCode RSS ${mib(before.rssKiB)} → ${mib(afterLoad.rssKiB)} → ${mib(afterDelete.rssKiB)} MiB ` +
      `(before, after the load, after deleting every session)`,
  )
  t.diagnostic(`plugin after the load: ${afterLoad.engine}`)
  t.diagnostic(`plugin after deleting: ${afterDelete.engine}`)

  assert.deepEqual(result.counts.doubled, [], "no hand-off answered twice")
  assert.deepEqual(result.counts.lost, [], "no hand-off lost")
  assert.equal(result.counts.answered, result.expected)
  assert.deepEqual(result.toolErrors, [], "no session call failed")
  assert.deepEqual(result.errorLog, [], "no error logged")
  assert.match(afterLoad.engine, /^Across all sessions: 0 hand-offs pending, 0 branches running,/)
  assert.equal(afterDelete.engine, "Across all sessions: 0 hand-offs pending, 0 branches running, 0 sessions remembered by the plugin.")
})

const mib = (kib) => (kib / 1024).toFixed(0)
