// The composition root: `createPlugin(input, options)` is the plugin that
// OpenCode calls once per project instance, through one of the package's
// entries (lib/opencode-sessions.js for OpenCode 1.0–1.3, server.js for 1.14
// and later). This module has no default export, and no other export, so
// that it loads as a plugin on every 1.x release when listed by path too.

import { createDriver } from "./driver.js"
import { createHooks, createHost } from "./hosts/opencode-v1.js"
import { createJournal, reportLeftovers } from "./journal.js"
import { loadNative } from "./native.js"

/** @type {import("./plugin.d.ts").createPlugin} */
export async function createPlugin(input, options) {
  const { RelayEngine, relevantEventTypes, optionsRefusedTitle } = await loadNative()
  const host = createHost(input.client)
  const engine = await startEngine(RelayEngine, options, host, optionsRefusedTitle())
  const journal = createJournal({ directory: input.directory, log: host.log })
  const driver = createDriver({ engine, host, journal })
  // After loading, not during it: the notes go through OpenCode's own API.
  setTimeout(() => void reportLeftovers(journal, driver, host.log), 0)
  return createHooks({
    driver,
    modes: engine.enabledModes(),
    toolText: engine.toolText(),
    eventTypes: relevantEventTypes(),
    log: host.log,
  })
}

/**
 * Validates the options by building the engine. A wrong option keeps the
 * plugin from loading: OpenCode logs the error, and a toast says what to fix.
 */
async function startEngine(RelayEngine, options, host, title) {
  try {
    return new RelayEngine(options ?? null)
  } catch (error) {
    // The engine's message names the option and says where to fix it.
    const message = String(error?.message ?? error)
    await host.toast({ variant: "error", title, message })
    await host.log("error", message)
    throw new Error(message, { cause: error })
  }
}
