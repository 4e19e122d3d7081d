// The metadata key on the text parts of messages this plugin sends. OpenCode
// keeps part metadata, so the `chat.message` hook can tell a message the
// plugin relayed from one a person typed (which resets the hop count).

export const PLUGIN_MARK = "opencode-sessions"

/**
 * @param {Array<{ metadata?: Record<string, unknown> }> | undefined} parts
 * @returns {boolean} whether the message was sent by this plugin
 */
export function sentByPlugin(parts) {
  return Array.isArray(parts) && parts.some((part) => part?.metadata?.[PLUGIN_MARK] === true)
}
