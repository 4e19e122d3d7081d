// Hand-offs that a host process which stopped left pending on disk: the
// sessions they belonged to are told what was not delivered. Host-neutral:
// the journal finds the lists, the driver feeds them to the engine.

/** Pauses (ms) before each new look at lists whose process still ran. */
const LOOK_AGAIN_MS = [2_000, 10_000]

/**
 * A process that was just killed may not have exited yet when the next one
 * starts, so its list is looked at again a little later.
 * @param {ReturnType<typeof import("./journal.js").createJournal>} journal
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
