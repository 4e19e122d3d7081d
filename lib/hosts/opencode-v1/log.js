// Toasts and log lines through OpenCode. Neither may ever throw into the
// engine's loop; when OpenCode cannot take them, stderr is the last resort.

import { createDeadlines } from "./deadlines.js"

const SERVICE = "opencode-sessions"
/** A toast or log line that takes longer than this is given up. */
const HOST_TIMEOUT_MS = 5_000

/** @param {import("@opencode-ai/plugin").PluginInput["client"]} client */
export function createLogger(client) {
  const deadline = createDeadlines()
  return {
    async log(level, message) {
      try {
        const result = await client.app.log({ body: { service: SERVICE, level, message }, signal: deadline(HOST_TIMEOUT_MS) })
        if (result?.error !== undefined) throw new Error(JSON.stringify(result.error))
      } catch (error) {
        console.error(`[${SERVICE}] ${level}: ${message} (could not write to OpenCode's log: ${error?.message ?? error})`)
      }
    },
    async toast({ variant, title, message }) {
      try {
        const result = await client.tui.showToast({ body: { title, message, variant }, signal: deadline(HOST_TIMEOUT_MS) })
        if (result?.error !== undefined) throw new Error(JSON.stringify(result.error))
      } catch (error) {
        console.error(`[${SERVICE}] ${title}: ${message} (could not show a toast: ${error?.message ?? error})`)
      }
    },
  }
}
