import assert from "node:assert/strict"
import http from "node:http"
import { test } from "node:test"
import { createOpencodeClient } from "@opencode-ai/sdk/client"
import { claimClient, createRequester } from "../lib/hosts/opencode-v1/requests.js"
import { createPlugin } from "../lib/plugin.js"
import { fakeClient } from "./fake-client.mjs"

test("the model is read from the newest messages, and from the whole history when they hold no user message", async () => {
  const steps = Array.from({ length: 50 }, () => ({ info: { role: "assistant" }, parts: [] }))
  const everything = [{ info: { role: "user", model: { providerID: "p", modelID: "m" } }, parts: [] }, ...steps]
  const fake = fakeClient({
    "session.messages": ({ query }) => ({ data: query?.limit ? everything.slice(-query.limit) : everything, response: { ok: true } }),
  })
  const perform = createRequester(fake.client)
  assert.deepEqual(await perform({ op: "lastUserModel", sessionId: "s" }, 1000), { type: "model", providerId: "p", modelId: "m" })
  assert.deepEqual(
    fake.of("session.messages").map((c) => c.options.query?.limit),
    [50, undefined],
  )
})

test("a session without a user message cannot be summarized, and says so", async () => {
  const fake = fakeClient({ "session.messages": () => ({ data: [], response: { ok: true } }) })
  const outcome = await createRequester(fake.client)({ op: "lastUserModel", sessionId: "s" }, 1000)
  assert.deepEqual(outcome, { type: "failed", message: "session s has no user message naming a model to summarize with" })
})

test("failures carry a cause that tells whether trying again can help", async () => {
  const httpError = (status, message) => () => ({ error: { data: { message } }, response: { ok: false, status } })
  const fake = fakeClient({
    "app.agents": httpError(404, "no such project"),
    "session.update": httpError(503, "busy"),
    "session.create": () => {
      throw new TypeError("fetch failed", { cause: { code: "ECONNREFUSED" } })
    },
    "session.promptAsync": () => {
      throw new TypeError("fetch failed", { cause: { code: "ECONNRESET" } })
    },
    "session.fork": ({ signal }) => new Promise((_, reject) => signal.addEventListener("abort", () => reject(signal.reason))),
  })
  const perform = createRequester(fake.client)
  assert.deepEqual(await perform({ op: "listAgents" }, 1000), { type: "failed", message: "HTTP 404: no such project", cause: "refused" })
  assert.deepEqual(await perform({ op: "renameSession", sessionId: "s", title: "t" }, 1000), {
    type: "failed",
    message: "HTTP 503: busy",
    cause: "unavailable",
  })
  assert.deepEqual(await perform({ op: "createSession", title: "t" }, 1000), {
    type: "failed",
    message: "fetch failed (ECONNREFUSED)",
    cause: "unreachable",
  })
  assert.deepEqual(
    await perform({ op: "prompt", sessionId: "s", agent: "plan", parts: ["x"] }, 1000),
    { type: "failed", message: "fetch failed (ECONNRESET)", cause: "unavailable" },
    "a connection cut after sending may have delivered the prompt",
  )
  // The time limit's timer does not keep the process alive; this test must wait for it.
  const keepAlive = setTimeout(() => {}, 5000)
  const started = Date.now()
  assert.deepEqual(await perform({ op: "forkSession", sessionId: "s", messageId: "m" }, 20), {
    type: "failed",
    message: "timed out",
    cause: "unavailable",
  })
  assert.ok(Date.now() - started >= 1000, "the call outlives the engine's own time limit")
  clearTimeout(keepAlive)
  assert.deepEqual(await perform({ op: "teleport" }, 1000), { type: "failed", message: 'unknown request "teleport"' })
})

test("renaming a session and showing it in the TUI use the SDK's update and publish", async () => {
  const fake = fakeClient()
  const perform = createRequester(fake.client)
  assert.deepEqual(await perform({ op: "renameSession", sessionId: "s", title: "fork 1/2 · build · x" }, 1000), { type: "done" })
  assert.deepEqual(fake.of("session.update")[0].options.body, { title: "fork 1/2 · build · x" })
  await perform({ op: "selectSession", sessionId: "s" }, 1000)
  assert.deepEqual(fake.of("tui.publish")[0].options.body, { type: "tui.session.select", properties: { sessionID: "s" } })
})

test("a prompt sends one text part per entry, to the named agent, without waiting", async () => {
  const fake = fakeClient()
  const outcome = await createRequester(fake.client)({ op: "prompt", sessionId: "s", agent: "plan", parts: ["note", "text"] }, 1000)
  assert.deepEqual(outcome, { type: "done" })
  const [call] = fake.of("session.promptAsync")
  assert.deepEqual(call.options.path, { id: "s" })
  const marked = (text) => ({ type: "text", text, metadata: { "opencode-sessions": true } })
  assert.deepEqual(call.options.body, { agent: "plan", parts: [marked("note"), marked("text")] })
  assert.ok(call.options.signal instanceof AbortSignal, "every call carries its time limit")
})

test("a call's time limit counts from the time it is given, else from now", async () => {
  const fake = fakeClient()
  const perform = createRequester(fake.client)
  // Given a time long past, the limit ran out long ago: the signal aborts at once.
  await perform({ op: "prompt", sessionId: "s", agent: "plan", parts: ["x"] }, 1000, Date.now() - 60_000)
  await perform({ op: "prompt", sessionId: "s", agent: "plan", parts: ["y"] }, 1000)
  const [past, now] = fake.of("session.promptAsync").map((call) => call.options.signal)
  await new Promise((resolve) => setTimeout(resolve, 20))
  assert.equal(past.aborted, true)
  assert.equal(past.reason?.name, "TimeoutError")
  assert.equal(now.aborted, false, "a limit counted from now is still running")
})

// ---- which client, and where its requests go ----

/** A local stand-in for OpenCode's HTTP server: answers /global/health and /agent, records each request. */
async function listeningServer() {
  const seen = []
  const server = http.createServer((request, response) => {
    seen.push(`${request.method} ${request.url}`)
    response.setHeader("content-type", "application/json")
    response.end(
      JSON.stringify(request.url.startsWith("/global/health") ? { healthy: true, version: "x" } : [{ name: "over-http", mode: "primary" }]),
    )
  })
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve))
  const url = new URL(`http://127.0.0.1:${server.address().port}/`)
  return { url, seen, close: () => new Promise((resolve) => server.close(resolve)) }
}

/** The client OpenCode up to 1.15 hands a plugin: the SDK's, answering in-process. */
function inProcessClient() {
  const inProcess = []
  const client = createOpencodeClient({
    baseUrl: "http://localhost:4096",
    directory: "/tmp/project",
    fetch: async (request) => {
      inProcess.push(`${request.method} ${new URL(request.url).pathname}`)
      return Response.json([{ name: "in-process", mode: "primary" }])
    },
  })
  return { client, inProcess }
}

const agentNames = async (client) => (await client.app.agents()).data.map((agent) => agent.name)

test("an in-process client is sent to the listening server once it answered, and nothing goes in-process", async () => {
  const server = await listeningServer()
  const { client, inProcess } = inProcessClient()
  assert.equal(claimClient({ client, serverUrl: server.url }), client)
  // Nothing is asked while the plugin loads.
  assert.deepEqual(server.seen, [])
  assert.deepEqual(await Promise.all([agentNames(client), agentNames(client)]), [["over-http"], ["over-http"]])
  assert.deepEqual(await agentNames(client), ["over-http"])
  assert.deepEqual(inProcess, [])
  assert.deepEqual(server.seen, ["GET /global/health", ...Array(3).fill("GET /agent?directory=%2Ftmp%2Fproject")])
  await server.close()
})

test("the client stays in-process when the server listens nowhere or does not answer", async () => {
  // OpenCode 1.2 and 1.3 report port 0 under `serve --port 0`.
  const portZero = inProcessClient()
  claimClient({ client: portZero.client, serverUrl: new URL("http://127.0.0.1:0/") })
  assert.deepEqual(await agentNames(portZero.client), ["in-process"])

  const gone = await listeningServer()
  await gone.close()
  const unreachable = inProcessClient()
  claimClient({ client: unreachable.client, serverUrl: gone.url })
  assert.deepEqual(await agentNames(unreachable.client), ["in-process"])
  assert.deepEqual(await agentNames(unreachable.client), ["in-process"])
  assert.deepEqual(unreachable.inProcess, ["GET /agent", "GET /agent"])
})

test("a client that already goes where the server listens (1.18, or `opencode run`) is left as it is", async () => {
  const { client, inProcess } = inProcessClient()
  const before = client._client.getConfig().fetch
  claimClient({ client, serverUrl: new URL("http://localhost:4096/") })
  assert.equal(client._client.getConfig().fetch, before)
  assert.deepEqual(await agentNames(client), ["in-process"])
  assert.deepEqual(inProcess, ["GET /agent"])
})

test("a second copy of the plugin for the same OpenCode instance stays inactive; another instance has its own", async () => {
  const fake = fakeClient()
  const input = { client: fake.client, directory: "/tmp/twice", worktree: "/tmp/twice" }
  const first = await createPlugin(input, {})
  const second = await createPlugin(input, {})
  assert.ok(first.tool?.session)
  assert.deepEqual(second, {})
  const warned = fake.of("app.log").map((call) => call.options.body)
  assert.deepEqual(
    warned.filter((body) => body.level === "warn").map((body) => body.message),
    ["opencode-sessions is loaded twice for this project; the second copy stays inactive"],
  )
  // Another OpenCode instance of the same directory comes with its own client.
  const other = await createPlugin({ ...input, client: fakeClient().client }, {})
  assert.ok(other.tool?.session)
})

test("a copy that failed to start lets the next one serve", async () => {
  const fake = fakeClient()
  const input = { client: fake.client, directory: "/tmp/retry", worktree: "/tmp/retry" }
  await assert.rejects(createPlugin(input, { maxHops: "eight" }))
  assert.ok((await createPlugin(input, {})).tool?.session)
})
