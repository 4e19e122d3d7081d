// The plugin listed twice in one project (by its directory and by its entry
// file), in a real `opencode serve`: OpenCode makes two instances of it in one
// process for one directory. A few sessions × a chain of hand-offs: each
// answered exactly once, one copy serves and the other says it stays
// inactive, and neither reports the other's pending list as left by a
// stopped OpenCode. COPIES_SESSIONS and COPIES_RELAYS change the size.

import assert from "node:assert/strict"
import { test } from "node:test"
import { PLUGIN_SPECS, runLoad } from "./load.mjs"

const sessions = Number(process.env.COPIES_SESSIONS ?? 6)
const relays = Number(process.env.COPIES_RELAYS ?? 6)

test(`listed twice (${PLUGIN_SPECS.join(", ")}): ${sessions} sessions × ${relays} hand-offs, each delivered once`, {
  timeout: 10 * 60_000,
}, async (t) => {
  const result = await runLoad({ sessions, relays, copies: 2, progress: (line) => t.diagnostic(line) })
  t.diagnostic(`${result.counts.answered}/${result.expected} answered in ${(result.wallMs / 1000).toFixed(1)} s`)

  assert.equal(result.inactiveCopies, 1, "OpenCode made a second instance of the plugin, and it stayed inactive")
  assert.deepEqual(result.counts.doubled, [], "no hand-off answered twice")
  assert.deepEqual(result.counts.lost, [], "no hand-off lost")
  assert.equal(result.counts.answered, result.expected)
  assert.deepEqual(result.toolErrors, [], "no session call failed")
  assert.deepEqual(result.errorLog, [], "no error logged")
  assert.deepEqual(result.stoppedReports, [], "nothing reported as left by a stopped OpenCode")
  assert.equal(
    result.memory.afterDelete.engine,
    "Across all sessions: 0 hand-offs pending, 0 branches running, 0 sessions remembered by the plugin.",
  )
})
