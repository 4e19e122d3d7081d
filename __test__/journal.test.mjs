import assert from "node:assert/strict"
import { spawnSync } from "node:child_process"
import { createHash } from "node:crypto"
import fs from "node:fs"
import os from "node:os"
import path from "node:path"
import { test } from "node:test"
import { createJournal, HEARTBEAT_STALE_MS, journalDirectory, machine, processStat } from "../lib/journal.js"
import { createPlugin } from "../lib/plugin.js"
import { fakeClient, idleEvent, settle, status, toolContext } from "./fake-client.mjs"

process.env.XDG_STATE_HOME = fs.mkdtempSync(path.join(os.tmpdir(), "sessions-state-"))
const stateDir = journalDirectory()
let projects = 0
const newProject = () => `/tmp/journal-project-${++projects}`

async function start(directory = newProject()) {
  const fake = fakeClient()
  const hooks = await createPlugin({ client: fake.client, directory, worktree: directory }, {})
  const event = async (e) => {
    await hooks.event({ event: e })
    await settle()
  }
  return { fake, hooks, event, directory }
}

/** The file name prefix of `directory`'s lists, as the journal names them. */
const prefixOf = (directory) => `pending-${createHash("sha256").update(directory).digest("hex").slice(0, 16)}`

/** Pending lists on disk for `directory`, as {file, handoffs}. */
function onDisk(directory) {
  if (!fs.existsSync(stateDir)) return []
  return fs
    .readdirSync(stateDir)
    .filter((name) => name.startsWith(`${prefixOf(directory)}-`) && name.endsWith(".json"))
    .map((name) => ({ file: name, ...JSON.parse(fs.readFileSync(path.join(stateDir, name), "utf8")) }))
}

const handoff = (sessionId, relay, text = "Review the diff") => ({
  sessionId,
  relay,
  mode: "message",
  callerAgent: "build",
  agent: "plan",
  text,
})

/** A list saved by a Node process that then exited: a real stopped writer. Returns the file. */
function leftByStoppedProcess(directory, handoffs) {
  const journalUrl = new URL("../lib/journal.js", import.meta.url).href
  const script = `const { createJournal } = await import(${JSON.stringify(journalUrl)})
    const journal = createJournal({ directory: ${JSON.stringify(directory)}, log: () => {} })
    journal.save(${JSON.stringify(handoffs)})
    await journal.settled()
    process.stdout.write(journal.file)`
  const child = spawnSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8" })
  assert.equal(child.status, 0, child.stderr)
  return child.stdout
}

/**
 * A list as another process wrote it, for the cases no test can make for
 * real (another boot, host or container): `writer` is what it recorded of its
 * process (omitted: an earlier release's list), `beatAt` its heartbeat.
 */
function leave(directory, { pid, writer, handoffs = [handoff("ses_left", 1)], savedAt = Date.now(), beatAt, token = "0123abcd" }) {
  fs.mkdirSync(stateDir, { recursive: true })
  const file = path.join(stateDir, `${prefixOf(directory)}-${pid}-${token}.json`)
  const record = { version: 1, pid, directory, savedAt, handoffs }
  if (writer) record.process = writer
  fs.writeFileSync(file, JSON.stringify(record))
  if (beatAt !== undefined) fs.utimesSync(file, new Date(beatAt), new Date(beatAt))
  return file
}

/** What this test's parent process (alive for the whole run, never this process) records of itself. */
const parent = () => ({ ...machine(), start: processStat(process.ppid)?.start ?? null })

/** A reader for `directory` that only looks. */
const reader = (directory, now) => createJournal({ directory, stateDir, log: () => {}, now })

/** A pid no process has: one that just exited. */
function deadPid() {
  const child = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], { encoding: "utf8" })
  return Number(child.stdout)
}

const linux = fs.existsSync("/proc/self/stat")

const until = async (check) => {
  for (let i = 0; i < 200; i++) {
    const value = check()
    if (value) return value
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
  throw new Error("gave up waiting")
}

test("a queued hand-off is kept on disk until it is answered", async () => {
  const { hooks, event, directory } = await start()
  await event(status("ses_1", "busy"))
  await hooks.tool.session.execute({ text: "Review the diff", mode: "message", agent: "plan" }, toolContext())
  const [saved] = await until(() => onDisk(directory).length === 1 && onDisk(directory))
  assert.equal(saved.pid, process.pid)
  assert.equal(saved.directory, directory)
  assert.deepEqual(
    saved.handoffs.map(({ sessionId, mode, callerAgent, agent, text }) => ({ sessionId, mode, callerAgent, agent, text })),
    [{ sessionId: "ses_1", mode: "message", callerAgent: "build", agent: "plan", text: "Review the diff" }],
  )

  // Sent, then answered: the next turn's end.
  await event(status("ses_1", "idle"))
  await event(idleEvent("ses_1"))
  await event(status("ses_1", "busy"))
  await event(status("ses_1", "idle"))
  await until(() => onDisk(directory).length === 0)
})

test("after a stop, the next start tells each session what was not delivered, once", async () => {
  const directory = newProject()
  const file = leftByStoppedProcess(directory, [
    handoff("ses_a", 4),
    { sessionId: "ses_b", relay: 7, mode: "compact", callerAgent: "plan", agent: "build", text: "Implement step 2" },
  ])
  assert.equal(onDisk(directory).length, 1)
  // A write the stopped process did not finish is cleared away.
  fs.writeFileSync(`${file}.tmp`, '{"version":1,"handoffs":[')

  const { fake } = await start(directory)
  const notes = await until(() => fake.of("session.promptAsync").length === 2 && fake.of("session.promptAsync"))
  assert.deepEqual(
    notes.map((n) => [n.options.path.id, n.options.body.agent, n.options.body.noReply]),
    [
      ["ses_a", "build", true],
      ["ses_b", "plan", true],
    ],
  )
  assert.match(notes[0].options.body.parts[0].text, /^\[Hand-off not delivered\] OpenCode stopped .* relay #4 \(message → plan\)/)
  assert.match(notes[1].options.body.parts[0].text, /Implement step 2/)
  const [toast] = fake.of("tui.showToast")
  assert.equal(toast.options.body.title, "OpenCode stopped: 2 hand-offs not delivered")
  assert.equal(onDisk(directory).length, 0, "the file was claimed")
  assert.equal(fs.existsSync(`${file}.tmp`), false, "the unfinished write was removed")

  // A second start finds nothing left to report.
  const again = await start(directory)
  await settle()
  await new Promise((resolve) => setTimeout(resolve, 50))
  assert.equal(again.fake.of("session.promptAsync").length, 0)
})

test("a list of the current release's format (no process recorded) is still reported", async () => {
  const directory = newProject()
  leave(directory, { pid: deadPid(), handoffs: [handoff("ses_old", 2, "from an earlier release")] })
  const { fake } = await start(directory)
  const [note] = await until(() => fake.of("session.promptAsync").length === 1 && fake.of("session.promptAsync"))
  assert.equal(note.options.path.id, "ses_old")
  assert.match(note.options.body.parts[0].text, /relay #2 .*from an earlier release/s)
})

test("a running process's list and another directory's are left alone", async () => {
  const directory = newProject()
  leave(directory, { pid: process.ppid, writer: parent() })
  leftByStoppedProcess(`${directory}-other`, [handoff("ses_y", 2)])

  const { fake } = await start(directory)
  await new Promise((resolve) => setTimeout(resolve, 50))
  assert.equal(fake.of("session.promptAsync").length, 0)
  assert.equal(onDisk(directory).length, 1)
  assert.equal(onDisk(`${directory}-other`).length, 1)
})

test("two instances of one directory in one process never take each other's list", async () => {
  const directory = newProject()
  const first = createJournal({ directory, stateDir, log: () => {} })
  first.save([handoff("ses_first", 1)])
  await first.settled()
  // Its own pid, another token: before, this was taken for an earlier process's list.
  const second = reader(directory)
  const found = await second.claimLeftovers()
  assert.deepEqual(found.lists, [])
  assert.equal(found.waiting, 0)
  assert.equal(onDisk(directory).length, 1)

  // A whole second plugin instance starting for the directory reports nothing either.
  const { fake } = await start(directory)
  await new Promise((resolve) => setTimeout(resolve, 50))
  assert.equal(fake.of("session.promptAsync").length, 0)
  assert.equal(onDisk(directory).length, 1)
  first.save([])
  await first.settled()
})

test("a list whose pid now belongs to another process is reported", { skip: !linux && "start times come from /proc" }, async () => {
  const directory = newProject()
  // process.ppid runs, but it is not the process that wrote the list: its start time differs.
  leave(directory, { pid: process.ppid, writer: { ...parent(), start: "1" }, handoffs: [handoff("ses_reused", 3)] })
  // An earlier release's list: the pid's process started after the list was saved.
  leave(directory, { pid: process.ppid, savedAt: 1_000, token: "4567cdef", handoffs: [handoff("ses_reused_old", 4)] })
  // An earlier release's list saved while that process ran: it may be its own.
  leave(directory, { pid: process.ppid, token: "89abcdef", handoffs: [handoff("ses_maybe", 5)] })
  const found = await reader(directory).claimLeftovers()
  assert.deepEqual(found.lists.map((list) => list.handoffs[0].sessionId).sort(), ["ses_reused", "ses_reused_old"])
  assert.equal(found.waiting, 1)
})

test("a list from an earlier boot of this machine is reported, though its pid runs now", {
  skip: !machine().boot && "no boot id here",
}, async () => {
  const directory = newProject()
  leave(directory, { pid: process.ppid, writer: { ...parent(), boot: "an-earlier-boot" }, handoffs: [handoff("ses_boot", 6)] })
  const found = await reader(directory).claimLeftovers()
  assert.deepEqual(
    found.lists.map((list) => list.handoffs[0].sessionId),
    ["ses_boot"],
  )
})

test("another host's or container's list waits for its heartbeat to go stale", async () => {
  const directory = newProject()
  const now = Date.now()
  // Its pid is dead here, which says nothing of a process on another machine.
  const host = leave(directory, { pid: deadPid(), writer: { ...parent(), host: "elsewhere" }, beatAt: now - 1_000, token: "00000001" })
  const container = leave(directory, { pid: deadPid(), writer: { ...parent(), pidns: "pid:[1]" }, beatAt: now - 2_000, token: "00000002" })
  const fresh = await reader(directory, () => now).claimLeftovers()
  assert.deepEqual(fresh.lists, [])
  assert.equal(fresh.waiting, 2)
  // File times are kept to the millisecond or so.
  assert.ok(Math.abs(fresh.staleAt - (now - 2_000 + HEARTBEAT_STALE_MS)) < 2, String(fresh.staleAt))

  // No heartbeat for longer: both writers stopped.
  const later = await reader(directory, () => now + HEARTBEAT_STALE_MS).claimLeftovers()
  assert.equal(later.lists.length, 2)
  assert.equal(fs.existsSync(host) || fs.existsSync(container), false)
})

test("a live pid whose start time the platform does not tell is judged by its heartbeat", async () => {
  const directory = newProject()
  const now = Date.now()
  leave(directory, { pid: process.ppid, writer: { ...parent(), start: null }, beatAt: now - 1_000 })
  assert.equal((await reader(directory, () => now).claimLeftovers()).waiting, 1)
  const stale = await reader(directory, () => now - 1_000 + HEARTBEAT_STALE_MS + 1).claimLeftovers()
  assert.equal(stale.lists.length, 1)
})

test("a pending list records its process and keeps its heartbeat while it is not empty", async (t) => {
  t.mock.timers.enable({ apis: ["setInterval"] })
  const directory = newProject()
  let now = Date.now()
  const journal = createJournal({ directory, stateDir, log: () => {}, now: () => now })
  journal.save([handoff("ses_beat", 1)])
  await journal.settled()
  const [saved] = onDisk(directory)
  assert.deepEqual(saved.process, { ...machine(), start: processStat(process.pid)?.start ?? null })

  now += 10 * 60_000
  t.mock.timers.tick(60_000)
  await until(() => Math.abs(fs.statSync(journal.file).mtimeMs - now) < 1_000)
  journal.save([])
  await journal.settled()
  assert.equal(onDisk(directory).length, 0)
})

test("a state directory that cannot be written is said once", async () => {
  const logs = []
  const blocked = path.join(stateDir, "blocked")
  fs.writeFileSync(blocked, "a file where the directory should be")
  const journal = createJournal({ directory: "/tmp/x", stateDir: blocked, log: (level, message) => logs.push([level, message]) })
  journal.save([{ sessionId: "s", relay: 1, mode: "message", callerAgent: "b", agent: "p", text: "t" }])
  await journal.settled()
  journal.save([{ sessionId: "s", relay: 2, mode: "message", callerAgent: "b", agent: "p", text: "t" }])
  await journal.settled()
  assert.equal(logs.length, 1)
  assert.equal(logs[0][0], "warn")
  assert.match(logs[0][1], /could not keep pending hand-offs in .*blocked.*lost without notice/)
})

test("a list the engine cannot read is left in place and does not hold up the others", async () => {
  const directory = newProject()
  leftByStoppedProcess(directory, [handoff("ses_ok", 3, "fine")])
  leftByStoppedProcess(directory, [{ session: "ses_bad", relay: 5, mode: "message", callerAgent: "build", agent: "plan", text: "odd" }])
  const newer = path.join(stateDir, `${prefixOf(directory)}-${deadPid()}-abcdef12.json`)
  fs.writeFileSync(newer, JSON.stringify({ version: 2, handoffs: [] }))

  const { fake } = await start(directory)
  const notes = await until(() => fake.of("session.promptAsync").length === 1 && fake.of("session.promptAsync"))
  assert.equal(notes[0].options.path.id, "ses_ok")
  // Other warnings (the restored hand-off's own) come and go in any order:
  // wait for exactly the two this test is about.
  const unreported = (w) => /could not be reported; the file is left in place/.test(w.message)
  const otherVersion = (w) => /written by another version of the plugin \(format 2\)/.test(w.message)
  const warnings = await until(() => {
    const logged = fake
      .of("app.log")
      .map((c) => c.options.body)
      .filter((b) => b.level === "warn")
    return logged.some(unreported) && logged.some(otherVersion) && logged
  })
  assert.equal(warnings.filter(unreported).length, 1, JSON.stringify(warnings))
  assert.equal(warnings.filter(otherVersion).length, 1, JSON.stringify(warnings))
  const kept = fs.readdirSync(stateDir).filter((f) => f.startsWith(prefixOf(directory)) && f.includes(".claimed-"))
  assert.equal(kept.length, 2, "the unreadable lists stay on disk")
})
