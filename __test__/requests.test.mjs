import assert from "node:assert/strict"
import { test } from "node:test"
import { createRequester } from "../lib/requests.js"
import { fakeClient } from "./fake-client.mjs"

test("the model is read from the newest messages, and from the whole history when they hold no user message", async () => {
  const steps = Array.from({ length: 50 }, () => ({ info: { role: "assistant" }, parts: [] }))
  const everything = [{ info: { role: "user", model: { providerID: "p", modelID: "m" } }, parts: [] }, ...steps]
  const fake = fakeClient({
    "session.messages": ({ query }) => ({ data: query?.limit ? everything.slice(-query.limit) : everything, response: { ok: true } }),
  })
  const perform = createRequester(fake.client)
  assert.deepEqual(await perform({ op: "lastUserModel", sessionId: "s" }, 1000), { type: "model", providerId: "p", modelId: "m" })
  assert.deepEqual(fake.of("session.messages").map((c) => c.options.query?.limit), [50, undefined])
})

test("a session without a user message cannot be summarized, and says so", async () => {
  const fake = fakeClient({ "session.messages": () => ({ data: [], response: { ok: true } }) })
  const outcome = await createRequester(fake.client)({ op: "lastUserModel", sessionId: "s" }, 1000)
  assert.deepEqual(outcome, { type: "failed", message: "session s has no user message naming a model to summarize with" })
})

test("HTTP errors, thrown errors and time-outs all become failed outcomes with a reason", async () => {
  const fake = fakeClient({
    "app.agents": () => ({ error: { name: "NotFoundError", data: { message: "no such project" } }, response: { ok: false, status: 404 } }),
    "session.create": () => {
      throw new TypeError("fetch failed")
    },
    "session.fork": ({ signal }) => new Promise((_, reject) => signal.addEventListener("abort", () => reject(signal.reason))),
  })
  const perform = createRequester(fake.client)
  assert.deepEqual(await perform({ op: "listAgents" }, 1000), { type: "failed", message: "HTTP 404: no such project" })
  assert.deepEqual(await perform({ op: "createSession", title: "t" }, 1000), { type: "failed", message: "fetch failed" })
  // AbortSignal.timeout does not keep the process alive; this test must wait for it.
  const keepAlive = setTimeout(() => {}, 5000)
  assert.deepEqual(await perform({ op: "forkSession", sessionId: "s", messageId: "m" }, 20), { type: "failed", message: "timed out" })
  clearTimeout(keepAlive)
  assert.deepEqual(await perform({ op: "teleport" }, 1000), { type: "failed", message: 'unknown request "teleport"' })
})

test("a prompt sends one text part per entry, to the named agent, without waiting", async () => {
  const fake = fakeClient()
  const outcome = await createRequester(fake.client)({ op: "prompt", sessionId: "s", agent: "plan", parts: ["note", "text"] }, 1000)
  assert.deepEqual(outcome, { type: "done" })
  const [call] = fake.of("session.promptAsync")
  assert.deepEqual(call.options.path, { id: "s" })
  assert.deepEqual(call.options.body, { agent: "plan", parts: [{ type: "text", text: "note" }, { type: "text", text: "text" }] })
  assert.ok(call.options.signal instanceof AbortSignal, "every call carries its time limit")
})
