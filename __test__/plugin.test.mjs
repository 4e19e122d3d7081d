import assert from "node:assert/strict"
import { test } from "node:test"
import { argumentsSchema } from "../lib/hosts/opencode-v1/tool.js"
import { createPlugin } from "../lib/plugin.js"
import { fakeClient, idleEvent, isolatedProject, settle, status, toolContext } from "./fake-client.mjs"

async function setup(overrides, options) {
  const fake = fakeClient(overrides)
  const directory = isolatedProject()
  const hooks = await createPlugin({ client: fake.client, directory, worktree: directory }, options)
  const execute = (args, ctx = toolContext()) => hooks.tool.session.execute(args, ctx)
  const event = async (e) => {
    await hooks.event({ event: e })
    await settle()
  }
  return { fake, hooks, execute, event }
}

const endTurn = async (event, sessionID = "ses_1") => {
  await event(status(sessionID, "idle"))
  await event(idleEvent(sessionID))
}

test("each entry is what the OpenCode that loads it expects, and calls each export as a plugin", async () => {
  // 1.0–1.3 (and 1.14+ given this file) call every export: one, a function.
  const legacy = await import("../lib/opencode-sessions.js")
  assert.deepEqual(Object.keys(legacy), ["createPlugin"])
  assert.equal(legacy.createPlugin, createPlugin)
  // 1.14 and later (`server`) and OpenCode 2 (`setup`): a plain object default export, no `effect`.
  const server = await import("../server.js")
  assert.deepEqual(Object.keys(server), ["default"])
  assert.deepEqual(Object.keys(server.default), ["id", "server", "setup"])
  assert.equal(typeof server.default.setup, "function")
  assert.equal(server.default.id, "opencode-sessions")
  assert.equal(server.default.server, createPlugin)
  // Listed by path, the composition root loads like the legacy entry.
  assert.deepEqual(Object.keys(await import("../lib/plugin.js")), ["createPlugin"])
})

test("the tool offers text, mode, an optional agent and an optional branch session, with only mode required", async () => {
  const { hooks } = await setup()
  const { args, description } = hooks.tool.session
  assert.deepEqual(Object.keys(args), ["text", "mode", "agent", "session"])
  assert.deepEqual(argumentsSchema(args), {
    type: "object",
    properties: {
      text: { type: "string", description: args.text.jsonSchema.description },
      mode: {
        type: "string",
        enum: ["message", "new", "compact", "fork", "status", "cancel"],
        description: args.mode.jsonSchema.description,
      },
      agent: { type: "string", description: args.agent.jsonSchema.description },
      session: { type: "string", description: args.session.jsonSchema.description },
    },
    required: ["mode"],
    additionalProperties: false,
  })
  assert.match(description, /message/)
  // What OpenCode's zod 4 reads of each argument: whether it may be left out, its JSON Schema, parsing.
  for (const [name, arg] of Object.entries(args)) {
    const optional = name !== "mode"
    assert.equal(arg._zod.optin, optional ? "optional" : undefined, name)
    assert.equal(arg._zod.optout, optional ? "optional" : undefined, name)
    assert.ok(arg._zod.traits.has("$ZodType"), name)
    assert.deepEqual(arg._zod.toJSONSchema(), arg.jsonSchema, name)
    assert.equal(arg._zod.run(5), 5, `${name}: values pass, the engine checks them`)
    assert.deepEqual(arg["~standard"].validate("x"), { value: "x" }, name)
  }
})

test("tool.definition: the schema OpenCode sends forbids other arguments on every release", async () => {
  const { hooks } = await setup()
  const { args } = hooks.tool.session
  // 1.15 and later: the JSON Schema in the output.
  const current = { description: "d", parameters: {}, jsonSchema: { type: "object", properties: {}, required: ["mode"] } }
  await hooks["tool.definition"]({ toolID: "session" }, current)
  assert.deepEqual(current.jsonSchema, { type: "object", properties: {}, required: ["mode"], additionalProperties: false })
  // 1.14: the zod object that OpenCode built from the args, on its Effect schema.
  const zodObject = { _zod: { def: { type: "object", shape: args } } }
  const effect = { ast: { annotations: { [Symbol.for("effect-zod/override")]: zodObject } }, annotate() {} }
  await hooks["tool.definition"]({ toolID: "session" }, { description: "d", parameters: effect })
  assert.deepEqual(zodObject._zod.toJSONSchema(), argumentsSchema(args))
  // Other tools are left alone.
  const other = { jsonSchema: { required: ["command"] } }
  await hooks["tool.definition"]({ toolID: "bash" }, other)
  assert.deepEqual(other.jsonSchema, { required: ["command"] })
})

test("message: queued during the turn, prompted once when it ends, with the target agent", async () => {
  const { fake, execute, event } = await setup()
  await event(status("ses_1", "busy"))
  const result = await execute({ text: "Review the auth module", mode: "message", agent: "plan" })
  assert.match(result, /^Queued as relay #\d+ for plan:/)
  assert.equal(fake.of("session.promptAsync").length, 0, "nothing is sent inside the turn")

  await endTurn(event)
  const prompts = fake.of("session.promptAsync")
  assert.equal(prompts.length, 1)
  assert.deepEqual(prompts[0].options.path, { id: "ses_1" })
  assert.deepEqual(prompts[0].options.body, {
    agent: "plan",
    parts: [{ type: "text", text: "Review the auth module", metadata: { "opencode-sessions": true } }],
  })
})

test("message: several calls in one turn go out in order, each after the previous answer", async () => {
  const { fake, execute, event } = await setup()
  await execute({ text: "one", mode: "message", agent: "plan" })
  await execute({ text: "two", mode: "message" })
  await endTurn(event)
  assert.equal(fake.of("session.promptAsync").length, 1)
  await event(status("ses_1", "busy"))
  await endTurn(event)
  const texts = fake.of("session.promptAsync").map((c) => [c.options.body.agent, c.options.body.parts[0].text])
  assert.deepEqual(texts, [
    ["plan", "one"],
    ["build", "two"],
  ])
})

test("an agent that cannot answer fails the tool call with the reason and the agents that can", async () => {
  const { fake, execute, event } = await setup()
  await assert.rejects(execute({ text: "x", mode: "message", agent: "reviewer" }), {
    message: 'Agent "reviewer" is not an agent of this project. Agents that can answer: build, plan. Nothing was sent.',
  })
  await endTurn(event)
  assert.equal(fake.of("session.promptAsync").length, 0)
})

test("new: creates a titled session, prompts it and returns its id without waiting", async () => {
  const { fake, execute } = await setup()
  const result = await execute({ text: "Research rate limiting", mode: "new", agent: "plan" })
  assert.deepEqual(fake.of("session.create")[0].options.body, { title: "new · plan · Research rate limiting" })
  const [prompt] = fake.of("session.promptAsync")
  assert.deepEqual(prompt.options.path, { id: "ses_new1" })
  assert.match(result, /^Started a new session ses_new1 "new · plan · Research rate limiting"/)
})

test("fork: forks at the in-flight message so the tool call is not copied", async () => {
  const { fake, execute } = await setup()
  const results = await Promise.all(["Redux", "Context API", "Zustand"].map((text) => execute({ text, mode: "fork" })))
  const forks = fake.of("session.fork")
  assert.equal(forks.length, 3)
  for (const fork of forks) assert.deepEqual(fork.options.body, { messageID: "msg_inflight" })
  const prompted = fake
    .of("session.promptAsync")
    .map((c) => c.options.path.id)
    .sort()
  assert.deepEqual(prompted, ["ses_fork1", "ses_fork2", "ses_fork3"])
  assert.equal(new Set(results).size, 3)
  const titles = fake
    .of("session.update")
    .map((c) => c.options.body.title)
    .sort()
  assert.deepEqual(titles, ["fork 1/3 · build · Redux", "fork 2/3 · build · Context API", "fork 3/3 · build · Zustand"])
})

test("compact: summarizes with the session's last model, then prompts with a handoff note", async () => {
  const { fake, execute, event } = await setup()
  await execute({ text: "Review the architecture", mode: "compact", agent: "plan" })
  await endTurn(event)
  assert.deepEqual(fake.of("session.summarize")[0].options.body, { providerID: "mock", modelID: "mock-model" })
  assert.equal(fake.of("tui.showToast")[0].options.body.title, "Compacting session")
  await event(status("ses_1", "busy"))
  await event({ type: "session.compacted", properties: { sessionID: "ses_1" } })
  assert.equal(fake.of("session.promptAsync").length, 0)
  await endTurn(event)
  const [prompt] = fake.of("session.promptAsync")
  assert.deepEqual(
    prompt.options.body.parts.map((p) => p.text),
    ["[Session compacted — build handed over to plan]", "Review the architecture"],
  )
})

test("a failed prompt is shown as an error toast and logged", async () => {
  const failing = () => ({ error: { name: "UnknownError", data: { message: "boom" } }, response: { ok: false, status: 500 } })
  const { fake, execute, event } = await setup({ "session.promptAsync": failing })
  await execute({ text: "hello", mode: "message" })
  await endTurn(event)
  const toast = fake
    .of("tui.showToast")
    .map((c) => c.options.body)
    .find((b) => b.variant === "error")
  assert.equal(toast.title, "Hand-off to build failed")
  assert.match(toast.message, /sending the prompt failed: HTTP 500: boom/)
  const logged = fake.of("app.log").map((c) => c.options.body)
  assert.ok(logged.some((b) => b.level === "error" && b.service === "opencode-sessions" && /HTTP 500/.test(b.message)))
})

test("an SDK call that hangs is given up after the time limit and reported", async () => {
  const { fake, execute, event } = await setup({ "session.promptAsync": () => new Promise(() => {}) }, { requestTimeoutMs: 30 })
  await execute({ text: "hello", mode: "message" })
  await endTurn(event)
  await new Promise((resolve) => setTimeout(resolve, 80))
  const toast = fake
    .of("tui.showToast")
    .map((c) => c.options.body)
    .find((b) => b.variant === "error")
  assert.ok(toast, "a toast reports the hung prompt")
  assert.match(toast.message, /timed out|no answer after/)
})

test("events that cannot matter never reach the engine and never throw", async () => {
  const { hooks } = await setup()
  await hooks.event({ event: { type: "message.part.delta", properties: {} } })
  await hooks.event({ event: undefined })
  await hooks.event({ event: { type: "session.idle", properties: {} } })
})

test("options restrict the modes on offer and are checked at load", async () => {
  const { hooks } = await setup({}, { modes: ["fork", "new"] })
  const { args, description } = hooks.tool.session
  assert.deepEqual(args.mode.jsonSchema.enum, ["new", "fork", "status", "cancel"])
  assert.doesNotMatch(description, /- message:|- compact:|end your turn/)
  // Only cancel names a branch here; without branches nothing does.
  assert.ok(args.session)
  const { hooks: queued } = await setup({}, { modes: ["message", "compact"] })
  assert.deepEqual(Object.keys(queued.tool.session.args), ["text", "mode", "agent"])

  const fake = fakeClient()
  await assert.rejects(createPlugin({ client: fake.client }, { maxHops: "eight" }), {
    message:
      /^opencode-sessions: invalid option "maxHops": must be a whole number from 1 to 1000, got "eight"\. Fix it under "opencode-sessions"/,
  })
  const [toast] = fake.of("tui.showToast")
  assert.equal(toast.options.body.variant, "error")
  assert.match(toast.options.body.message, /maxHops/)
})

test("a refused permission fails the call with OpenCode's own error, so OpenCode can stop the turn", async () => {
  const { fake, execute, event } = await setup()
  class RejectedError extends Error {}
  const deny = async ({ patterns }) => {
    throw new RejectedError(`rule denies ${patterns[0]}`)
  }
  await assert.rejects(execute({ text: "x", mode: "message", agent: "plan" }, toolContext("ses_1", "build", deny)), (error) => {
    assert.ok(error instanceof RejectedError)
    assert.equal(error.message, "rule denies message → plan")
    return true
  })
  const logged = fake.of("app.log").map((c) => c.options.body.message)
  assert.ok(
    logged.some((m) => m.includes('Permission "session" refused "message → plan"')),
    "the refusal is logged",
  )
  await endTurn(event)
  assert.equal(fake.of("session.promptAsync").length, 0)
})

test("where tools cannot ask permission (OpenCode 1.0), hand-offs go through as under OpenCode's default allow", async () => {
  const { fake, execute, event } = await setup()
  const { ask, ...noAsk } = toolContext()
  assert.match(await execute({ text: "x", mode: "message", agent: "plan" }, noAsk), /^Queued as relay #\d+ for plan/)
  await endTurn(event)
  assert.equal(fake.of("session.promptAsync").length, 1)
})

test("the hop count resets when a person writes, not when the plugin's own message arrives", async () => {
  const { execute, event, hooks } = await setup({}, { maxHops: 1 })
  await event(status("ses_1", "busy"))
  await execute({ text: "one", mode: "message", agent: "plan" })
  await assert.rejects(execute({ text: "two", mode: "message", agent: "plan" }), /limit maxHops = 1/)
  const relayed = { parts: [{ type: "text", text: "one", metadata: { "opencode-sessions": true } }] }
  await hooks["chat.message"]({ sessionID: "ses_1" }, relayed)
  await assert.rejects(execute({ text: "three", mode: "message", agent: "plan" }), /limit maxHops = 1/)
  await hooks["chat.message"]({ sessionID: "ses_1" }, { parts: [{ type: "text", text: "go on" }] })
  assert.match(await execute({ text: "four", mode: "message", agent: "plan" }), /^Queued/)
})

test("a finished branch reports to its parent with a note that starts no turn, and status lists it", async () => {
  const answers = {
    "session.messages": ({ path }) => ({
      data: [
        { info: { role: "user" }, parts: [{ type: "text", text: "Try Redux" }] },
        { info: { role: "assistant" }, parts: [{ type: "text", text: `Redux works in ${path.id}` }] },
      ],
      response: { ok: true, status: 200 },
    }),
  }
  const { fake, execute, event } = await setup(answers)
  await event(status("ses_1", "busy"))
  const result = await execute({ text: "Try Redux", mode: "fork" })
  assert.match(result, /^Forked this session into ses_fork1 "fork · build · Try Redux"/)
  await endTurn(event, "ses_1")
  await event(status("ses_fork1", "busy"))
  await endTurn(event, "ses_fork1")
  const notes = fake.of("session.promptAsync").filter((c) => c.options.body.noReply)
  assert.equal(notes.length, 1)
  assert.deepEqual(notes[0].options.path, { id: "ses_1" })
  assert.equal(notes[0].options.body.agent, "build")
  assert.match(
    notes[0].options.body.parts[0].text,
    /^\[Branch finished\] "fork · build · Try Redux" \(ses_fork1, build\)\n\nRedux works in ses_fork1/,
  )
  assert.match(await execute({ mode: "status" }), /"fork · build · Try Redux" \(ses_fork1, build\) — finished: Redux works in ses_fork1/)
})

test("arguments of the wrong type are refused by the engine with a clear error", async () => {
  const { execute } = await setup()
  await assert.rejects(execute({ text: 5, mode: "message" }), /`text` must be a string, got the number 5/)
  await assert.rejects(execute({ text: "x", mode: "teleport" }), /unknown mode "teleport"/)
  await assert.rejects(execute({ mode: "message" }), /`text` is empty/)
})

test("every mode the engine knows has its line in the tool's description", async () => {
  const { modes } = await import("../index.js")
  const { hooks } = await setup()
  const lines = hooks.tool.session.description.split("\n")
  for (const mode of modes()) assert.equal(lines.filter((line) => line.startsWith(`- ${mode}: `)).length, 1, mode)
  assert.ok(!lines.includes("undefined"))
})

test("an idle while a step is still open is a stop (OpenCode up to 1.3 records the stopped step after its idle): the turn's hand-offs are cancelled", async () => {
  const { fake, execute, event } = await setup()
  await event(status("ses_1", "busy"))
  const step = (completed) => ({
    type: "message.updated",
    properties: { info: { role: "assistant", sessionID: "ses_1", time: completed ? { created: 1, completed } : { created: 1 } } },
  })
  await event(step())
  await execute({ text: "never delivered", mode: "message", agent: "plan" })
  await endTurn(event)
  assert.equal(fake.of("session.promptAsync").length, 0, "nothing sent")
  assert.ok(
    fake.of("tui.showToast").some((t) => t.options.body.title === "Interrupted: 1 hand-off cancelled"),
    JSON.stringify(fake.of("tui.showToast")),
  )
  // A step seen to its end leaves the next turn's idle to deliver as usual.
  await event(status("ses_1", "busy"))
  await event(step())
  await execute({ text: "delivered", mode: "message", agent: "plan" })
  await event(step(2))
  await endTurn(event)
  assert.equal(fake.of("session.promptAsync").length, 1)
})
