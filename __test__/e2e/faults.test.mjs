// Faults around pending hand-offs in a real `opencode serve`: the model fails
// or stalls mid-turn, a session is deleted, OpenCode is killed and started
// again. Each test checks what the person sees, and that other sessions go on.

import assert from "node:assert/strict"
import fs from "node:fs"
import path from "node:path"
import { after, before, describe, test } from "node:test"
import { opencodeVersion } from "./opencode.mjs"
import { bootWithPlugin, showSession, shutdown, startTurn } from "./suite.mjs"
import { cue, textOf, toolParts, until } from "./transcript.mjs"

describe("faults around pending hand-offs in real OpenCode", { timeout: 300_000 }, () => {
  let env

  before(async () => {
    env = await bootWithPlugin()
  })

  after(() => shutdown(env))

  const show = (sessionID) => showSession(env.oc, sessionID)
  const toastsSince = (mark) =>
    env.oc.events
      .slice(mark)
      .filter((e) => e.type === "tui.toast.show")
      .map((e) => e.properties)
  /** User texts of the session that `agent` was asked to answer. */
  const userTexts = async (sessionID, agent) =>
    (await env.oc.messages(sessionID)).filter((m) => m.info.role === "user" && m.info.agent === agent).map(textOf)
  const handOff = (text) => cue({ mode: "message", agent: "plan", text })

  /** Waits until the session's `session` call has completed: the hand-off is queued. */
  const queued = (sessionID) =>
    until(async () => toolParts(await env.oc.messages(sessionID)).find((p) => p.state.status === "completed"), {
      describe: () => show(sessionID),
    })

  /** Proves the plugin still relays: a fresh session's hand-off reaches plan. */
  async function stillRelays(label) {
    const sessionID = await startTurn(env.oc, handOff(label))
    await until(async () => ((await userTexts(sessionID, "plan")).includes(label) ? true : null), {
      describe: () => show(sessionID),
    })
  }

  test("the model fails after the hand-off: OpenCode shows the error, and the hand-off still goes out", async () => {
    const mark = env.oc.mark()
    const sessionID = await startTurn(env.oc, `${handOff("after the model failed")}\nTHEN FAIL 400`)
    await until(async () => ((await userTexts(sessionID, "plan")).includes("after the model failed") ? true : null), {
      describe: () => show(sessionID),
    })
    // The failed step is recorded with its error, and plan's answer follows it.
    const messages = await until(
      async () => {
        const all = await env.oc.messages(sessionID)
        return all.some((m) => m.info.role === "assistant" && m.info.agent === "plan" && m.info.time?.completed) ? all : null
      },
      { describe: () => show(sessionID) },
    )
    const failed = messages.find((m) => m.info.role === "assistant" && m.info.error)
    assert.equal(failed?.info.error.name, "APIError", "the person sees the model's error")
    assert.deepEqual(toastsSince(mark), [], "no interrupt, no failure reported")
  })

  test("the model answers 500 once: OpenCode retries, the turn goes on, and the hand-off goes out once", async () => {
    const mark = env.oc.mark()
    const sessionID = await startTurn(env.oc, `${handOff("after the retry")}\nTHEN FAIL 500 ONCE`)
    await env.oc.waitForEvent(
      (e) => e.type === "session.status" && e.properties.sessionID === sessionID && e.properties.status?.type === "retry",
      30_000,
      { after: mark, label: "OpenCode retries the model" },
    )
    await until(async () => ((await userTexts(sessionID, "plan")).includes("after the retry") ? true : null), {
      describe: () => show(sessionID),
    })
    await new Promise((resolve) => setTimeout(resolve, 1000))
    assert.deepEqual(await userTexts(sessionID, "plan"), ["after the retry"], "delivered once")
    assert.deepEqual(toastsSince(mark), [])
  })

  test("the model stalls mid-turn: the hand-off waits, other sessions go on, and stopping the turn cancels it", async () => {
    const sessionID = await startTurn(env.oc, `${handOff("after the stall")}\nTHEN STALL`)
    await queued(sessionID)
    await stillRelays("while another session stalls")
    assert.deepEqual(await userTexts(sessionID, "plan"), [], "nothing reaches plan while the turn runs")

    const mark = env.oc.mark()
    await env.oc.api("POST", `/session/${sessionID}/abort`, {})
    const toast = await until(async () => toastsSince(mark).find((t) => t.title.startsWith("Interrupted")), {
      describe: () => show(sessionID),
    })
    assert.equal(toast.title, "Interrupted: 1 hand-off cancelled")
    assert.match(toast.message, /→ plan: "after the stall"/)
    await new Promise((resolve) => setTimeout(resolve, 1000))
    assert.deepEqual(await userTexts(sessionID, "plan"), [])
  })

  test("a session deleted with a hand-off pending: the loss is reported, other sessions go on", async () => {
    // The turn runs on for 10 s, so the deletion comes while the hand-off is queued on a slow machine too.
    const sessionID = await startTurn(env.oc, `${handOff("to a deleted session")}\nTHEN DELAY 10000`)
    await queued(sessionID)
    const mark = env.oc.mark()
    await env.oc.api("DELETE", `/session/${sessionID}`)
    // OpenCode 1.0 stops a running turn it deletes, and reports the stop first
    // (1.0–1.3 report a stop as an idle with a step open): the hand-off is
    // then cancelled as by a person's interrupt.
    const told = (t) => t.variant === "error" || t.title.startsWith("Interrupted:")
    const toast = await until(async () => toastsSince(mark).find(told), {
      describe: () => `toasts since the deletion: ${JSON.stringify(toastsSince(mark))}\nserver log:\n${env.oc.logTail(60)}`,
    })
    if (toast.variant === "error") {
      assert.equal(toast.title, "Hand-off to plan failed")
      assert.match(toast.message, /^relay #\d+ was not delivered: the session was deleted\. Its text: "to a deleted session"$/)
    } else {
      assert.match(opencodeVersion(), /^1\.[0-3]\./, `only OpenCode 1.0–1.3 report the stop first: ${JSON.stringify(toast)}`)
      assert.equal(toast.title, "Interrupted: 1 hand-off cancelled")
      assert.match(toast.message, /^relay #\d+ → plan: "to a deleted session"$/)
    }
    await stillRelays("after a deletion")
  })

  test("OpenCode killed with a hand-off pending: the next start tells the session, and it works as before", async () => {
    const sessionID = await startTurn(env.oc, `${handOff("lost in the crash")}\nTHEN DELAY 60000`)
    const call = await queued(sessionID)
    const relay = /relay #\d+/.exec(call.state.output)[0]
    const stateDir = path.join(env.oc.root, "xdg-state", "opencode-sessions")
    await until(async () => fs.existsSync(stateDir) && fs.readdirSync(stateDir).some((f) => f.endsWith(".json")))

    const root = env.oc.root
    await env.oc.stop({ signal: "SIGKILL", keepRoot: true })
    env = { mock: env.mock, oc: null }
    env = await bootWithPlugin({ root, mock: env.mock })
    const note = await until(async () => (await env.oc.messages(sessionID)).find((m) => textOf(m).startsWith("[Hand-off not delivered]")), {
      describe: () => show(sessionID),
    })
    assert.equal(note.info.role, "user")
    assert.match(
      textOf(note),
      new RegExp(
        `OpenCode stopped before ${relay} \\(message → plan\\) was sent, and it is not sent again on its own\\. Its text:\\n\\nlost in the crash\\n`,
      ),
    )
    const toast = await until(async () => toastsSince(0).find((t) => t.title.startsWith("OpenCode stopped")))
    assert.equal(toast.title, "OpenCode stopped: 1 hand-off not delivered", toast.message)
    assert.deepEqual(
      fs.readdirSync(stateDir).filter((f) => f.endsWith(".json")),
      [],
      "claimed once",
    )
    assert.deepEqual(await userTexts(sessionID, "plan"), [], "not sent again")

    // The note started no turn; the session goes on when the person writes.
    const mark = env.oc.mark()
    await env.oc.promptAsync(sessionID, handOff("after the restart"), "build")
    await until(async () => ((await userTexts(sessionID, "plan")).includes("after the restart") ? true : null), {
      describe: () => show(sessionID),
    })
    assert.equal(toastsSince(mark).filter((t) => t.variant === "error").length, 0)
  })
})
