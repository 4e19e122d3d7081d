// Scripted OpenAI-compatible chat model for end-to-end tests.
// Node built-ins only. Listens on 127.0.0.1 (random port).
//
//   const mock = await startMockModel({ log })
//   mock.url        -> "http://127.0.0.1:PORT/v1"   (use as provider baseURL)
//   mock.requests   -> recorded requests (see `record` below; `closedAt` and `completed` once the response ended)
//   await mock.close()
//
// Behaviour is decided from each POST /v1/chat/completions body:
//   - title generation (system prompt starts with "You are a title generator")
//       -> a short title: first 5 words of the conversation's user text
//   - compaction (system prompt of opencode's compaction agent, see COMPACTION_SYSTEM_MARKERS)
//       -> "SUMMARY: <n> messages summarized"
//   - agent: taken from an "AGENT=<name>" marker in the system message(s), else "?"
//   - last message is a user message: cues in its text, one per line
//       CALL session {json}   -> one `session` tool call per line, all in one response
//       CALL <tool> {json}    -> a call of any other tool (e.g. bash), the same way
//       DELAY <ms>            -> whole response delayed by <ms>
//       THEN DELAY <ms>       -> the reply to the tool results of this turn is delayed by <ms>
//       FAIL SUMMARY          -> the first summary of a conversation holding this line fails with HTTP 400
//       THEN FAIL <status>    -> the reply to the tool results of this turn fails with HTTP <status>
//       THEN FAIL <status> ONCE -> the same, for the first request only (OpenCode retries 5xx)
//       THEN STALL            -> the reply to the tool results starts streaming, then never goes on
//       RELAY <label> <k>/<n> <mode>,<mode>,...
//                             -> a chain of n hand-offs: step k < n calls `session` with the next
//                                mode (build and plan take turns); step n answers in text
//     otherwise -> "[<agent>] got: <first 80 chars of the user text>"
//   - last message is a tool result -> "[<agent>] done: <tool result, first 200 chars>"

import http from "node:http"

const TITLE_MARKER = "You are a title generator"
// opencode 1.18.33 compaction request: system prompt begins
//   "You are a context summarization agent."
// and the single user message inlines the history as
//   "Here is the conversation so far:\n\n<conversation>\n[User]: ...\n\n[Assistant]: ...\n</conversation>"
// followed by "Create a new anchored summary ..." (or "Update the anchored summary ...").
const COMPACTION_SYSTEM_MARKERS = [/You are a context summarization agent/i]
const COMPACTION_USER_MARKER = /<conversation>[\s\S]*<\/conversation>[\s\S]*anchored summary/i
// opencode 1.15.13 sends the history as messages, then a last user message that starts with
// "Create a new anchored summary from the conversation history above." (or "Update the anchored summary below …").
// Releases up to 1.3 end the history with "Provide a detailed prompt for continuing our conversation above. …".
const COMPACTION_LAST_USER_MARKER =
  /^(?:(?:Create a new anchored summary|Update the anchored summary below)[^\n]* the conversation history above|Provide a detailed prompt for continuing our conversation above)/

/** Text of an OpenAI message `content` (string | parts array | null). */
export function contentText(content) {
  if (content == null) return ""
  if (typeof content === "string") return content
  if (Array.isArray(content)) {
    return content
      .map((p) => {
        if (typeof p === "string") return p
        if (p && typeof p.text === "string") return p.text
        return ""
      })
      .filter((s) => s.length > 0)
      .join("\n")
  }
  if (typeof content === "object" && typeof content.text === "string") return content.text
  return ""
}

/** Remove opencode's synthetic <system-reminder> blocks from user text. */
export function stripReminders(text) {
  return text.replace(/<system-reminder>[\s\S]*?<\/system-reminder>/g, "").trim()
}

/** Parse the request body into derived fields used by the script and by tests. */
export function analyzeRequest(body) {
  const messages = Array.isArray(body?.messages) ? body.messages : []
  const systemText = messages
    .filter((m) => m.role === "system" || m.role === "developer")
    .map((m) => contentText(m.content))
    .join("\n")

  let kind = "chat"
  if (systemText.trimStart().startsWith(TITLE_MARKER) || systemText.includes(TITLE_MARKER)) kind = "title"
  else if (
    COMPACTION_SYSTEM_MARKERS.some((re) => re.test(systemText)) ||
    (!/AGENT=/.test(systemText) &&
      (messages.some((m) => m.role === "user" && COMPACTION_USER_MARKER.test(contentText(m.content))) ||
        COMPACTION_LAST_USER_MARKER.test(contentText(messages.findLast((m) => m.role === "user")?.content))))
  )
    kind = "compaction"

  const agentMatch = /AGENT=([A-Za-z0-9_.:-]+)/.exec(systemText)
  const agent = agentMatch ? agentMatch[1] : "?"

  let lastUserIndex = -1
  for (let i = messages.length - 1; i >= 0; i--) {
    if (messages[i].role === "user") {
      lastUserIndex = i
      break
    }
  }
  const lastUserRaw = lastUserIndex >= 0 ? contentText(messages[lastUserIndex].content) : ""
  const lastUserText = stripReminders(lastUserRaw)
  const last = messages[messages.length - 1]
  const lastRole = last ? last.role : null

  // Trailing tool results (the ones this request is a reaction to).
  const toolResults = []
  for (let i = messages.length - 1; i >= 0 && messages[i].role === "tool"; i--) {
    toolResults.unshift({ toolCallID: messages[i].tool_call_id, content: contentText(messages[i].content) })
  }

  const tools = Array.isArray(body?.tools) ? body.tools.map((t) => t?.function?.name).filter(Boolean) : []

  return {
    kind,
    agent,
    lastRole,
    lastUserText,
    lastUserRaw,
    systemText,
    toolResults,
    tools,
    model: body?.model,
    stream: body?.stream !== false,
    messages,
  }
}

/** Parse cue lines ("CALL session {json}", "DELAY <ms>") from user text. */
export function parseCues(text) {
  const calls = []
  let delayMs = 0
  let thenDelayMs = 0
  let thenFail = null
  let thenStall = false
  let chain = null
  for (const rawLine of text.split(/\r?\n/)) {
    const line = rawLine.trim()
    let m = /^CALL\s+(\w+)\s+(\{.*\})\s*$/.exec(line)
    if (m) {
      let args = m[2]
      try {
        args = JSON.stringify(JSON.parse(args)) // normalise, keep as string
      } catch {
        // invalid JSON is passed through verbatim (lets tests exercise bad arguments)
      }
      calls.push({ name: m[1], arguments: args })
      continue
    }
    m = /^DELAY\s+(\d+)\s*(ms)?$/i.exec(line)
    if (m) delayMs += Number(m[1])
    m = /^THEN\s+DELAY\s+(\d+)\s*(ms)?$/i.exec(line)
    if (m) thenDelayMs += Number(m[1])
    m = /^THEN\s+FAIL\s+(\d{3})(\s+ONCE)?$/i.exec(line)
    if (m) thenFail = { status: Number(m[1]), once: Boolean(m[2]) }
    if (/^THEN\s+STALL$/i.test(line)) thenStall = true
    m = /^RELAY\s+(\S+)\s+(\d+)\/(\d+)\s+([a-z,]+)$/.exec(line)
    if (m) chain = { label: m[1], step: Number(m[2]), of: Number(m[3]), modes: m[4].split(",") }
  }
  if (chain && chain.step < chain.of) {
    const next = chain.step + 1
    const mode = chain.modes[(next - 1) % chain.modes.length]
    const agent = next % 2 === 1 ? "plan" : "build"
    const text = `RELAY ${chain.label} ${next}/${chain.of} ${chain.modes.join(",")}`
    calls.push({ name: "session", arguments: JSON.stringify({ mode, agent, text }) })
  }
  return { calls, delayMs, thenDelayMs, thenFail, thenStall, chain }
}

function firstUserTextForTitle(a) {
  // The title request carries the conversation's first user message; opencode wraps
  // it in some boilerplate, so take the last user message whose text is non-empty.
  for (let i = a.messages.length - 1; i >= 0; i--) {
    const m = a.messages[i]
    if (m.role !== "user") continue
    const t = stripReminders(contentText(m.content))
    if (t) return t
  }
  return ""
}

/** Number of messages in the history the compaction request asks to summarize. */
export function countSummarizedMessages(a) {
  // opencode inlines the history into one user message: "[User]: ..." / "[Assistant]: ..." blocks
  // inside <conversation>...</conversation>. Falls back to the number of non-system messages.
  const nonSystem = a.messages.filter((m) => m.role !== "system" && m.role !== "developer")
  const all = nonSystem.map((m) => contentText(m.content)).join("\n")
  const conv = /<conversation>([\s\S]*)<\/conversation>/.exec(all)
  if (conv) {
    // One block per message, blocks separated by a blank line; an assistant step with tool calls
    // renders as "[Assistant tool call]: ..." / "[Tool result]: ..." lines.
    const blocks = conv[1].trim().match(/(?:^|\n\n)\[(?:User|Assistant)(?: tool call)?\]:/g)
    return blocks ? blocks.length : 0
  }
  return nonSystem.length
}

/** Decide the scripted reply. Returns { text } or { calls }, plus delayMs. */
export function scriptReply(a) {
  if (a.kind === "title") {
    const words = firstUserTextForTitle(a)
      .replace(/[^\p{L}\p{N}\s_-]/gu, " ")
      .split(/\s+/)
      .filter(Boolean)
      .slice(0, 5)
    return { text: words.length ? words.join(" ") : "Untitled", delayMs: 0 }
  }
  if (a.kind === "compaction") {
    const conversation = a.messages.map((m) => contentText(m.content)).join("\n")
    if (/^FAIL SUMMARY$/m.test(conversation) && !a.summaryFailedBefore) {
      return { error: { status: 400, message: "mock: summary refused" }, delayMs: 0 }
    }
    return { text: `SUMMARY: ${countSummarizedMessages(a)} messages summarized`, delayMs: 0 }
  }
  if (a.lastRole === "tool") {
    const result = a.toolResults.map((r) => r.content).join(" | ")
    const cues = parseCues(a.lastUserText)
    if (cues.thenFail && !(cues.thenFail.once && a.failedBefore)) {
      const { status } = cues.thenFail
      return { error: { status, message: `mock: model failed with ${status}` }, delayMs: cues.thenDelayMs, failOnce: cues.thenFail.once }
    }
    return { text: `[${a.agent}] done: ${result.slice(0, 200)}`, delayMs: cues.thenDelayMs, stall: cues.thenStall }
  }
  if (a.lastRole === "user") {
    const cues = parseCues(a.lastUserText)
    if (cues.calls.length) return { calls: cues.calls, delayMs: cues.delayMs }
    return { text: `[${a.agent}] got: ${a.lastUserText.slice(0, 80)}`, delayMs: cues.delayMs }
  }
  return { text: `[${a.agent}] got: ${a.lastUserText.slice(0, 80)}`, delayMs: 0 }
}

function estimateTokens(s) {
  return Math.max(1, Math.ceil(String(s).length / 4))
}

export async function startMockModel({ log, port = 0 } = {}) {
  const say = typeof log === "function" ? log : () => {}
  const requests = []
  const sockets = new Set()
  /** Sessions whose one failing summary (FAIL SUMMARY) already happened. */
  const failedSummaries = new Set()
  /** Sessions whose one failing reply (THEN FAIL <status> ONCE) already happened. */
  const failedOnce = new Set()
  let seq = 0

  const server = http.createServer((req, res) => {
    handle(req, res).catch((err) => {
      say(`mock: handler error ${err?.stack || err}`)
      if (!res.headersSent) {
        res.writeHead(500, { "content-type": "application/json" })
        res.end(JSON.stringify({ error: { message: String(err?.message || err) } }))
      } else {
        res.destroy()
      }
    })
  })
  server.on("connection", (s) => {
    sockets.add(s)
    s.on("close", () => sockets.delete(s))
  })

  function readBody(req) {
    return new Promise((resolve, reject) => {
      const chunks = []
      req.on("data", (c) => chunks.push(c))
      req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")))
      req.on("error", reject)
    })
  }

  // Pending delays; close() releases them.
  const pending = new Set()
  function sleep(ms, req) {
    if (!ms) return Promise.resolve()
    return new Promise((resolve) => {
      const p = { done }
      const t = setTimeout(done, ms)
      pending.add(p)
      // the client gave up (opencode aborted the request): stop waiting
      const onClose = () => {
        if (req.socket?.destroyed) done()
      }
      req.socket?.on("close", onClose)
      function done() {
        clearTimeout(t)
        pending.delete(p)
        req.socket?.off("close", onClose)
        resolve()
      }
    })
  }

  async function handle(req, res) {
    const url = new URL(req.url, "http://127.0.0.1")
    const path = url.pathname.replace(/\/+$/, "")
    if (req.method === "GET" && (path === "/v1/models" || path === "/models")) {
      res.writeHead(200, { "content-type": "application/json" })
      res.end(
        JSON.stringify({
          object: "list",
          data: [{ id: "mock-model", object: "model", created: 0, owned_by: "mock" }],
        }),
      )
      return
    }
    if (req.method !== "POST" || !(path === "/v1/chat/completions" || path === "/chat/completions")) {
      res.writeHead(404, { "content-type": "application/json" })
      res.end(JSON.stringify({ error: { message: `mock: no route ${req.method} ${url.pathname}` } }))
      return
    }

    const raw = await readBody(req)
    let body
    try {
      body = JSON.parse(raw)
    } catch (err) {
      res.writeHead(400, { "content-type": "application/json" })
      res.end(JSON.stringify({ error: { message: `mock: bad JSON: ${err.message}` } }))
      return
    }
    const a = analyzeRequest(body)
    const session = req.headers["x-session-affinity"] || req.headers["x-opencode-session"] || null
    a.summaryFailedBefore = failedSummaries.has(session)
    a.failedBefore = failedOnce.has(session)
    const reply = scriptReply(a)
    if (reply.error && a.kind === "compaction") failedSummaries.add(session)
    if (reply.failOnce) failedOnce.add(session)
    const n = ++seq
    const record = {
      n,
      kind: a.kind,
      agent: a.agent,
      lastRole: a.lastRole,
      lastUserText: a.lastUserText,
      messages: a.messages,
      toolResults: a.toolResults,
      tools: a.tools,
      sessionID: session,
      reply: reply.error ? { error: reply.error } : reply.text !== undefined ? { text: reply.text } : { calls: reply.calls },
      delayMs: reply.delayMs,
      body,
      at: Date.now(),
      respondedAt: null,
    }
    requests.push(record)
    // When the response ended, and whether it was whole: a client that gives
    // up on a stream (OpenCode stopping a turn) closes it before its end.
    res.on("close", () => {
      record.closedAt = Date.now()
      record.completed = res.writableFinished
    })
    say(
      `mock: #${n} ${a.kind} agent=${a.agent} last=${a.lastRole} ` +
        (reply.error
          ? `-> HTTP ${reply.error.status}`
          : reply.calls
            ? `-> ${reply.calls.length} tool call(s)`
            : `-> ${JSON.stringify(reply.text).slice(0, 100)}`) +
        (reply.delayMs ? ` after ${reply.delayMs}ms` : ""),
    )

    await sleep(reply.delayMs, req)
    if (res.destroyed || req.socket?.destroyed) return
    record.respondedAt = Date.now()
    if (reply.error) {
      res.writeHead(reply.error.status, { "content-type": "application/json" })
      res.end(JSON.stringify({ error: { message: reply.error.message, type: "invalid_request_error" } }))
      return
    }

    const id = `chatcmpl-mock-${n}`
    const created = Math.floor(Date.now() / 1000)
    const model = body.model || "mock-model"
    const promptTokens = estimateTokens(raw)
    const completionText = reply.text ?? reply.calls.map((c) => c.arguments).join("")
    const usage = {
      prompt_tokens: promptTokens,
      completion_tokens: estimateTokens(completionText),
      total_tokens: promptTokens + estimateTokens(completionText),
    }
    const finishReason = reply.calls ? "tool_calls" : "stop"

    if (!a.stream) {
      const message = reply.calls
        ? {
            role: "assistant",
            content: null,
            tool_calls: reply.calls.map((c, i) => ({
              id: `call_mock_${n}_${i}`,
              type: "function",
              function: { name: c.name, arguments: c.arguments },
            })),
          }
        : { role: "assistant", content: reply.text }
      res.writeHead(200, { "content-type": "application/json" })
      res.end(
        JSON.stringify({
          id,
          object: "chat.completion",
          created,
          model,
          choices: [{ index: 0, message, finish_reason: finishReason }],
          usage,
        }),
      )
      return
    }

    res.writeHead(200, {
      "content-type": "text/event-stream",
      "cache-control": "no-cache",
      connection: "keep-alive",
    })
    const chunk = (choices, extra) =>
      res.write(`data: ${JSON.stringify({ id, object: "chat.completion.chunk", created, model, choices, ...extra })}\n\n`)

    chunk([{ index: 0, delta: { role: "assistant", content: "" }, finish_reason: null }])
    if (reply.stall) {
      chunk([{ index: 0, delta: { content: "thinking" }, finish_reason: null }])
      await sleep(24 * 3600 * 1000, req)
      res.destroy()
      return
    }
    if (reply.calls) {
      reply.calls.forEach((c, i) => {
        chunk([
          {
            index: 0,
            delta: {
              tool_calls: [{ index: i, id: `call_mock_${n}_${i}`, type: "function", function: { name: c.name, arguments: "" } }],
            },
            finish_reason: null,
          },
        ])
        // arguments in two pieces, like real providers do
        const half = Math.ceil(c.arguments.length / 2)
        for (const piece of [c.arguments.slice(0, half), c.arguments.slice(half)]) {
          if (!piece) continue
          chunk([{ index: 0, delta: { tool_calls: [{ index: i, function: { arguments: piece } }] }, finish_reason: null }])
        }
      })
    } else {
      // split text into a few deltas
      const text = reply.text
      const pieces = text.length > 12 ? [text.slice(0, Math.ceil(text.length / 2)), text.slice(Math.ceil(text.length / 2))] : [text]
      for (const p of pieces) chunk([{ index: 0, delta: { content: p }, finish_reason: null }])
    }
    chunk([{ index: 0, delta: {}, finish_reason: finishReason }])
    if (body.stream_options?.include_usage) chunk([], { usage })
    res.write("data: [DONE]\n\n")
    res.end()
  }

  await new Promise((resolve, reject) => {
    server.once("error", reject)
    server.listen(port, "127.0.0.1", () => {
      server.off("error", reject)
      resolve()
    })
  })
  const { port: actualPort } = server.address()
  const url = `http://127.0.0.1:${actualPort}/v1`
  say(`mock: listening on ${url}`)

  let closed = false
  return {
    url,
    port: actualPort,
    requests,
    /** Requests of kind "chat" (optionally for one agent). */
    chats(agent) {
      return requests.filter((r) => r.kind === "chat" && (agent === undefined || r.agent === agent))
    },
    async close() {
      if (closed) return
      closed = true
      for (const p of [...pending]) p.done()
      const done = new Promise((resolve) => server.close(() => resolve()))
      for (const s of sockets) s.destroy()
      server.closeAllConnections?.()
      await Promise.race([done, new Promise((r) => setTimeout(r, 2000).unref())])
    },
  }
}
