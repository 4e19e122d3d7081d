// Keeps the hand-offs still pending on disk, so that OpenCode stopping (quit,
// crash, restart) cannot lose them without a word: the next start of OpenCode
// in the same directory finds the file a stopped process left and tells each
// session what was not delivered.
//
// One file per running plugin instance, named after the project directory and
// the process: `pending-<directory hash>-<pid>-<token>.json`. It holds the
// latest list the engine gave and is removed once nothing is pending.

import { createHash, randomUUID } from "node:crypto"
import { readFileSync } from "node:fs"
import fs from "node:fs/promises"
import os from "node:os"
import path from "node:path"

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
 */
export function createJournal({ directory, stateDir = journalDirectory(), log, pid = process.pid }) {
  const key = createHash("sha256").update(String(directory)).digest("hex").slice(0, 16)
  const token = randomUUID().slice(0, 8)
  const file = path.join(stateDir, `pending-${key}-${pid}-${token}.json`)
  const ours = new RegExp(`^pending-${key}-(\\d+)-([0-9a-f]+)\\.json(\\.tmp)?$`)
  let latest = null
  let writing = null
  let warned = false

  /** Writes the latest list; one write at a time, the newest list wins. */
  async function flush() {
    while (latest !== null) {
      const handoffs = latest
      latest = null
      try {
        if (handoffs.length === 0) {
          await fs.rm(file, { force: true })
        } else {
          await fs.mkdir(stateDir, { recursive: true })
          const body = JSON.stringify({ version: 1, pid, directory, savedAt: Date.now(), handoffs })
          await fs.writeFile(`${file}.tmp`, body)
          // A rename replaces the file whole: a stop mid-write leaves the last complete list.
          await fs.rename(`${file}.tmp`, file)
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
     * @returns {Promise<{lists: {file: string, handoffs: import("../index.js").JsPendingHandOff[]}[], problems: string[], waiting: number}>}
     *   `waiting`: lists left alone because their process still runs
     */
    async claimLeftovers() {
      const lists = []
      const problems = []
      let waiting = 0
      let names = []
      try {
        names = await fs.readdir(stateDir)
      } catch (error) {
        if (error?.code !== "ENOENT") problems.push(`could not read ${stateDir}: ${error?.message ?? error}`)
        return { lists, problems, waiting }
      }
      for (const name of names) {
        const match = ours.exec(name)
        if (!match || match[2] === token) continue
        const owner = Number(match[1])
        // Our own pid under another token is an earlier process that had it.
        if (owner !== pid && isRunning(owner)) {
          waiting++
          continue
        }
        if (match[3]) {
          // A write the stopped process did not finish; its last full list is the .json.
          await fs.rm(path.join(stateDir, name), { force: true }).catch(() => {})
          continue
        }
        const claimed = path.join(stateDir, `${name}.claimed-${token}`)
        try {
          await fs.rename(path.join(stateDir, name), claimed)
        } catch {
          continue // another instance claimed it first
        }
        try {
          const saved = JSON.parse(await fs.readFile(claimed, "utf8"))
          if (saved?.version !== 1) throw new Error(`written by another version of the plugin (format ${JSON.stringify(saved?.version)})`)
          if (!Array.isArray(saved.handoffs)) throw new Error("no list of hand-offs in it")
          lists.push({ file: claimed, handoffs: saved.handoffs })
        } catch (error) {
          problems.push(`could not read ${claimed}, left in place: ${error?.message ?? error}`)
        }
      }
      return { lists, problems, waiting }
    },

    /** A claimed list was reported: its file goes. */
    async release(file) {
      await fs.rm(file, { force: true })
    },
  }
}

function isRunning(pid) {
  try {
    process.kill(pid, 0)
  } catch (error) {
    // EPERM: it runs, under another user.
    return error?.code === "EPERM"
  }
  // A process that was killed stays a zombie until it is reaped: it no longer runs.
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8")
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z"
  } catch {
    return true // no /proc here: the signal check is all there is
  }
}

// ---- reporting what a stopped process left ----
// The sessions the lists belonged to are told what was not delivered: the
// journal finds the lists, the driver feeds them to the engine.

/** Pauses (ms) before each new look at lists whose process still ran. */
const LOOK_AGAIN_MS = [2_000, 10_000]

/**
 * A process that was just killed may not have exited yet when the next one
 * starts, so its list is looked at again a little later.
 * @param {ReturnType<typeof createJournal>} journal
 * @param {ReturnType<typeof import("./driver.js").createDriver>} driver
 * @param {(level: string, message: string) => Promise<void>} log
 */
export async function reportLeftovers(journal, driver, log, again = LOOK_AGAIN_MS) {
  try {
    const { lists, problems, waiting } = await journal.claimLeftovers()
    for (const problem of problems) await log("warn", problem)
    // One list at a time: one the engine cannot read does not lose the others.
    for (const { file, handoffs } of lists) {
      if (driver.restored(handoffs)) await journal.release(file)
      else await log("warn", `the hand-offs in ${file} could not be reported; the file is left in place`)
    }
    if (waiting > 0 && again.length > 0) {
      setTimeout(() => void reportLeftovers(journal, driver, log, again.slice(1)), again[0]).unref?.()
    }
  } catch (error) {
    await log("error", `could not look for hand-offs left by a stopped OpenCode: ${error?.message ?? error}`)
  }
}
