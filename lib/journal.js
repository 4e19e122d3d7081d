// Keeps the hand-offs still pending on disk, so that OpenCode stopping (quit,
// crash, restart) cannot lose them without a word: the next start of OpenCode
// in the same directory finds the file a stopped process left and tells each
// session what was not delivered.
//
// One file per running plugin instance, named after the project directory and
// the process: `pending-<directory hash>-<pid>-<token>.json`. It holds the
// latest list the engine gave and is removed once nothing is pending.
//
// A list is reported only once its writer surely stopped. The file says which
// process wrote it (`process`: host name, machine id, boot id, pid namespace,
// start time of the pid) and its modification time is a heartbeat, renewed while the list is
// not empty:
// - an instance of this process (two OpenCode instances of one directory, the
//   package listed twice) is known by its token, kept process-wide: never taken;
// - another machine or container (pid namespace) sharing the state directory
//   cannot be looked into: its list counts as stopped once its heartbeat is
//   HEARTBEAT_STALE_MS old;
// - the same machine and pid namespace after a restart (another boot id): stopped;
// - on the same machine and boot, in the same pid namespace, the pid is looked
//   at: gone or a zombie means stopped; on Linux a start time other than the
//   recorded one means the pid now belongs to another process (reused); a live
//   pid whose start time the platform does not tell is judged by the heartbeat.
// The pid namespace is asked before the boot: containers on two machines may
// share a host name and their image's machine id, not a pid namespace (each
// container gets a new one); only two cloned machines outside containers
// (same name, same machine id) would be taken for one machine restarted.
// Each check reads a few small files; nothing runs while the plugin loads.
// Lists of earlier releases (no `process`) are judged by their pid alone,
// on Linux also by whether that pid's process started after the list was saved.

import { createHash, randomUUID } from "node:crypto"
import { readFileSync, readlinkSync } from "node:fs"
import fs from "node:fs/promises"
import os from "node:os"
import path from "node:path"

/** How often a non-empty list's heartbeat is renewed. */
const HEARTBEAT_MS = 60_000
/**
 * A heartbeat this old is a stopped writer's. Five missed beats: room for a
 * busy process and for clocks of machines that share the directory being
 * apart by a minute or two.
 */
export const HEARTBEAT_STALE_MS = 5 * HEARTBEAT_MS

/** Tokens of the journals of this process, shared by every copy of the module. */
const LIVE = Symbol.for("opencode-sessions.journalTokens")

/** Where the files live: `$XDG_STATE_HOME/opencode-sessions`, as OpenCode keeps its own state. */
export function journalDirectory(env = process.env) {
  const stateHome = env.XDG_STATE_HOME || path.join(os.homedir(), ".local", "state")
  return path.join(stateHome, "opencode-sessions")
}

/**
 * @param {object} deps
 * @param {string} deps.directory the project directory OpenCode runs in
 * @param {string} [deps.stateDir]
 * @param {(level: string, message: string) => unknown} deps.log
 * @param {number} [deps.pid]
 * @param {() => number} [deps.now]
 */
export function createJournal({ directory, stateDir = journalDirectory(), log, pid = process.pid, now = Date.now }) {
  const key = createHash("sha256").update(String(directory)).digest("hex").slice(0, 16)
  const token = randomUUID().slice(0, 8)
  globalThis[LIVE] ??= new Set()
  globalThis[LIVE].add(token)
  const file = path.join(stateDir, `pending-${key}-${pid}-${token}.json`)
  const ours = new RegExp(`^pending-${key}-(\\d+)-([0-9a-f]+)\\.json(\\.tmp)?$`)
  let latest = null
  let writing = null
  let warned = false
  let heartbeat
  let identity

  /** Writes the latest list; one write at a time, the newest list wins. */
  async function flush() {
    while (latest !== null) {
      const handoffs = latest
      latest = null
      try {
        if (handoffs.length === 0) {
          beat(false)
          await fs.rm(file, { force: true })
        } else {
          await fs.mkdir(stateDir, { recursive: true })
          identity ??= writer(pid)
          const body = JSON.stringify({ version: 1, pid, directory, savedAt: now(), process: identity, handoffs })
          await fs.writeFile(`${file}.tmp`, body)
          // A rename replaces the file whole: a stop mid-write leaves the last complete list.
          await fs.rename(`${file}.tmp`, file)
          beat(true)
        }
      } catch (error) {
        if (!warned) {
          warned = true
          void log(
            "warn",
            `could not keep pending hand-offs in ${file} (${error?.message ?? error}); if OpenCode stops before they are delivered, they are lost without notice`,
          )
        }
      }
    }
    writing = null
  }

  /** Renews the file's modification time while a list is on disk. */
  function beat(on) {
    if (!on) {
      clearInterval(heartbeat)
      heartbeat = undefined
    } else if (heartbeat === undefined) {
      heartbeat = setInterval(() => {
        const at = new Date(now())
        fs.utimes(file, at, at).catch(() => {})
      }, HEARTBEAT_MS)
      // The heartbeat must not keep the host process alive.
      heartbeat.unref?.()
    }
  }

  return {
    file,

    /** The engine's latest pending list. */
    save(handoffs) {
      latest = handoffs
      writing ??= flush()
    },

    /** Resolves once every list given so far is on disk. */
    async settled() {
      while (writing) await writing
    },

    /**
     * Takes the lists that stopped processes left for this directory: each
     * file is claimed by renaming it, so two instances never report one twice.
     * A claimed file stays on disk until `release` says it was reported.
     * @returns {Promise<{lists: {file: string, handoffs: import("../index.js").JsPendingHandOff[]}[], problems: string[], waiting: number, staleAt: number | null}>}
     *   `waiting`: lists left alone because their writer may still run;
     *   `staleAt`: when the earliest of those judged by their heartbeat alone would count as stopped
     */
    async claimLeftovers() {
      const lists = []
      const problems = []
      let waiting = 0
      let staleAt = null
      let names = []
      try {
        names = await fs.readdir(stateDir)
      } catch (error) {
        if (error?.code !== "ENOENT") problems.push(`could not read ${stateDir}: ${error?.message ?? error}`)
        return { lists, problems, waiting, staleAt }
      }
      const claimedNames = new Set()
      const unfinished = []
      for (const name of names) {
        const match = ours.exec(name)
        if (!match || globalThis[LIVE].has(match[2])) continue
        if (match[3]) {
          unfinished.push(name)
          continue
        }
        const listed = path.join(stateDir, name)
        const state = await writerState(listed, Number(match[1]), now())
        if (state === "gone") continue
        if (state !== "stopped") {
          waiting++
          if (typeof state === "number") staleAt = Math.min(staleAt ?? state, state)
          continue
        }
        const claimed = `${listed}.claimed-${token}`
        try {
          await fs.rename(listed, claimed)
        } catch {
          continue // another instance claimed it first
        }
        claimedNames.add(name)
        try {
          const saved = JSON.parse(await fs.readFile(claimed, "utf8"))
          if (saved?.version !== 1) throw new Error(`written by another version of the plugin (format ${JSON.stringify(saved?.version)})`)
          if (!Array.isArray(saved.handoffs)) throw new Error("no list of hand-offs in it")
          lists.push({ file: claimed, handoffs: saved.handoffs })
        } catch (error) {
          problems.push(`could not read ${claimed}, left in place: ${error?.message ?? error}`)
        }
      }
      for (const name of unfinished) {
        // A write the stopped process did not finish; its last full list was the .json.
        // Without one, an abandoned write is one nobody touched for long.
        const listed = name.slice(0, -".tmp".length)
        const abandoned = claimedNames.has(listed) || (!names.includes(listed) && (await isStale(path.join(stateDir, name), now())))
        if (abandoned) await fs.rm(path.join(stateDir, name), { force: true }).catch(() => {})
      }
      return { lists, problems, waiting, staleAt }
    },

    /** A claimed list was reported: its file goes. */
    async release(file) {
      await fs.rm(file, { force: true })
    },
  }
}

/**
 * Whether the writer of the list in `file` stopped: "stopped", "running",
 * the time its heartbeat turns stale (it may run; nothing else can tell), or
 * "gone" when the file went meanwhile. `pid` is the one its name gives.
 */
async function writerState(file, pid, nowMs) {
  let saved = null
  let beatAt
  try {
    beatAt = (await fs.stat(file)).mtimeMs
    saved = JSON.parse(await fs.readFile(file, "utf8"))
  } catch (error) {
    if (error?.code === "ENOENT") return "gone"
    // Unreadable: judged by its pid, as an earlier release's list.
  }
  const byHeartbeat = () => (nowMs - beatAt > HEARTBEAT_STALE_MS ? "stopped" : beatAt + HEARTBEAT_STALE_MS)
  const writer = saved?.process
  const here = machine()
  if (writer === null || typeof writer !== "object") return earlierRelease(pid, saved?.savedAt)
  if (writer.host !== here.host || writer.machine !== here.machine) return byHeartbeat()
  // Another pid namespace (a container, here or on a machine of the same name): its pids mean nothing here.
  if (writer.pidns !== here.pidns) return byHeartbeat()
  // Every process of an earlier boot of this machine ended with it.
  if (writer.boot && here.boot && writer.boot !== here.boot) return "stopped"
  const running = processStat(pid)
  if (running === null) return "stopped"
  if (running === undefined || writer.start == null) return byHeartbeat()
  return running.start === writer.start ? "running" : "stopped"
}

/** A list of a release that did not record its process: the pid is all there is. */
function earlierRelease(pid, savedAt) {
  // An instance of this process has a live token; our pid under another one was an earlier process's.
  if (pid === process.pid) return "stopped"
  const running = processStat(pid)
  if (running === null) return "stopped"
  // A process that started after the list was saved cannot have written it: the pid was reused.
  const startedAt = running?.start === undefined ? undefined : startedAtMs(running.start)
  if (startedAt !== undefined && typeof savedAt === "number" && startedAt > savedAt + 2_000) return "stopped"
  return "running"
}

async function isStale(file, nowMs) {
  try {
    return nowMs - (await fs.stat(file)).mtimeMs > HEARTBEAT_STALE_MS
  } catch {
    return false
  }
}

// ---- which process ----

/** What the list records of its writer. */
function writer(pid) {
  const stat = processStat(pid)
  return { ...machine(), start: stat?.start ?? null }
}

let machineIdentity
/**
 * This machine, boot and pid namespace as far as the platform tells without
 * running a program: the host name and (Linux) the machine id, the boot id
 * and the pid namespace's inode. Read once per process.
 */
export function machine() {
  machineIdentity ??= {
    host: os.hostname(),
    machine: readTrimmed("/etc/machine-id"),
    boot: readTrimmed("/proc/sys/kernel/random/boot_id"),
    pidns: readLink("/proc/self/ns/pid"),
  }
  return machineIdentity
}

/**
 * A process as /proc tells: `{ start }` (clock ticks after boot, as text) for
 * one that runs, null for none or a zombie (killed, not yet reaped),
 * undefined when it runs but /proc says nothing (macOS, Windows).
 */
export function processStat(pid) {
  try {
    process.kill(pid, 0)
  } catch (error) {
    // EPERM: it runs, under another user.
    if (error?.code !== "EPERM") return null
  }
  let stat
  try {
    stat = readFileSync(`/proc/${pid}/stat`, "utf8")
  } catch {
    return undefined // no /proc here: the signal check is all there is
  }
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
  if (fields[0] === "Z") return null
  // Field 22 of the whole line; the text after the command starts at field 3.
  return { start: fields[19] }
}

let bootedAtMs
/** Wall-clock time a process started, from its start in ticks; Linux counts 100 ticks a second to user space. */
function startedAtMs(ticks) {
  if (bootedAtMs === undefined) {
    const btime = /^btime (\d+)$/m.exec(readTrimmed("/proc/stat") ?? "")
    bootedAtMs = btime ? Number(btime[1]) * 1000 : null
  }
  return bootedAtMs === null ? undefined : bootedAtMs + Number(ticks) * 10
}

function readTrimmed(file) {
  try {
    return readFileSync(file, "utf8").trim() || null
  } catch {
    return null
  }
}

function readLink(file) {
  try {
    return readlinkSync(file)
  } catch {
    return null
  }
}

// ---- reporting what a stopped process left ----
// The sessions the lists belonged to are told what was not delivered: the
// journal finds the lists, the driver feeds them to the engine.

/** Pauses (ms) before each new look at lists whose process still ran. */
const LOOK_AGAIN_MS = [2_000, 10_000]

/**
 * A process that was just killed may not have exited yet when the next one
 * starts, so its list is looked at again a little later; a list judged by its
 * heartbeat is looked at again once that would be stale.
 * @param {ReturnType<typeof createJournal>} journal
 * @param {ReturnType<typeof import("./driver.js").createDriver>} driver
 * @param {(level: string, message: string) => Promise<void>} log
 */
export async function reportLeftovers(journal, driver, log, again = LOOK_AGAIN_MS, now = Date.now) {
  try {
    const { lists, problems, waiting, staleAt } = await journal.claimLeftovers()
    for (const problem of problems) await log("warn", problem)
    // One list at a time: one the engine cannot read does not lose the others.
    for (const { file, handoffs } of lists) {
      if (driver.restored(handoffs)) await journal.release(file)
      else await log("warn", `the hand-offs in ${file} could not be reported; the file is left in place`)
    }
    const delay = waiting > 0 && again.length > 0 ? again[0] : staleAt === null ? null : Math.max(1_000, staleAt - now() + 1_000)
    if (delay !== null) {
      setTimeout(() => void reportLeftovers(journal, driver, log, again.slice(1), now), delay).unref?.()
    }
  } catch (error) {
    await log("error", `could not look for hand-offs left by a stopped OpenCode: ${error?.message ?? error}`)
  }
}
