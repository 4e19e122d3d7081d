// Loads the native engine for this platform, or explains what is missing.

import { arch, platform } from "node:process"

/** @returns {Promise<typeof import("../index.js")>} */
export async function loadNative() {
  try {
    return await import("../index.js")
  } catch (cause) {
    const error = new Error(
      `opencode-sessions: no native engine could be loaded for ${platform}-${arch}. ` +
        `The package opencode-sessions-${platform}-${arch}-* should have been installed with it as an optional dependency; ` +
        `reinstall opencode-sessions (for OpenCode: delete ~/.cache/opencode/packages/opencode-sessions* and restart), ` +
        `and check that your platform is supported. Cause: ${cause?.message ?? cause}`,
    )
    error.cause = cause
    throw error
  }
}
