// The composition root: `createPlugin(input, options)` is the plugin that
// OpenCode calls once per project instance, through one of the package's
// entries (lib/opencode-sessions.js for OpenCode 1.0–1.3, server.js for 1.14
// and later). This module has no default export, and no other export, so
// that it loads as a plugin on every 1.x release when listed by path too.

import { createDriver } from "./driver.js"
import { claimClient, createLogger, releaseClient } from "./hosts/opencode-v1/requests.js"
import { createHooks, createHost } from "./hosts/opencode-v1.js"
import { createJournal, reportLeftovers } from "./journal.js"
import { loadNative } from "./native.js"

/** @type {import("./plugin.d.ts").createPlugin} */
export async function createPlugin(input, options) {
  const client = claimClient(input)
  if (client === null) {
    // Listed twice: the first instance serves this OpenCode instance, a second would relay everything again.
    void createLogger(input.client).log("warn", "opencode-sessions is loaded twice for this project; the second copy stays inactive")
    return {}
  }
  try {
    return await start(client, input, options)
  } catch (error) {
    releaseClient(client)
    throw error
  }
}

async function start(client, input, options) {
  const { RelayEngine, relevantEventTypes, optionsRefusedTitle } = await loadNative()
  const host = createHost(client)
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
    client: input.client,
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
