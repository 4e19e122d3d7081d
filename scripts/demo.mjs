// Live demo: the plugin in a real `opencode serve`, answered by a scripted
// local model (no API key). Shows each mode of the `session` tool happen.
//
//   npm run demo             run the four scenarios and stop
//   npm run demo -- --keep   keep the server running to attach a TUI

import { spawnSync } from "node:child_process"
import fs from "node:fs"
import path from "node:path"
import { fileURLToPath } from "node:url"
import { startMockModel } from "../__test__/e2e/mock-model.mjs"
import { startOpencode } from "../__test__/e2e/opencode.mjs"
import { cue, textOf, toolParts, transcript, until } from "../__test__/e2e/transcript.mjs"

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")
const keep = process.argv.includes("--keep")
const bold = (s) => (process.stdout.isTTY ? `\x1b[1m${s}\x1b[0m` : s)
const dim = (s) => (process.stdout.isTTY ? `\x1b[2m${s}\x1b[0m` : s)

function ensureNativeBuild() {
  if (fs.readdirSync(REPO).some((f) => f.endsWith(".node"))) return
  console.log(dim("Building the native engine (first run only)…"))
  const built = spawnSync("npm", ["run", "build"], { cwd: REPO, stdio: "inherit" })
  if (built.status !== 0) throw new Error("npm run build failed; see the output above")
}

async function main() {
  ensureNativeBuild()
  console.log(dim("Starting the scripted model and OpenCode…"))
  const mock = await startMockModel({})
  const oc = await startOpencode({ pluginPath: REPO, modelUrl: mock.url, agents: ["review"] })
  const stop = async () => {
    await oc.stop()
    await mock.close()
  }
  process.once("SIGINT", () => stop().then(() => process.exit(130)))
  try {
    if (oc.pluginErrorMessages().length || oc.pluginLogErrors().length) {
      throw new Error(`the plugin did not load: ${[...oc.pluginErrorMessages(), ...oc.pluginLogErrors()].join("; ")}`)
    }
    console.log(`OpenCode ${dim(oc.url)} with opencode-sessions loaded from ${dim(REPO)}\n`)
    await scenarios(oc)
    if (keep) {
      console.log(bold("\nThe server keeps running. In another terminal, attach the OpenCode TUI:"))
      console.log(`  npx opencode attach ${oc.url} --dir ${oc.directory}`)
      console.log(dim("Press Ctrl+C to stop."))
      await new Promise(() => {})
    }
  } finally {
    await stop()
  }
}

async function scenarios(oc) {
  const show = async (id, title) => {
    const session = await oc.session(id)
    console.log(dim(`  ── ${title ?? session.title} (${id})`))
    for (const raw of transcript(await oc.messages(id))) {
      const line = raw.replaceAll("\n", " ⏎ ")
      console.log(`  ${line.length > 160 ? `${line.slice(0, 159)}…` : line}`)
    }
  }
  const start = async (text, agent = "build") => {
    const session = await oc.createSession("demo")
    await oc.promptAsync(session.id, text, agent)
    return session.id
  }
  const answered = (id, agent, pattern) =>
    until(
      async () =>
        (await oc.messages(id)).find(
          (m) => m.info.role === "assistant" && m.info.agent === agent && pattern.test(textOf(m)) && m.info.time?.completed,
        ),
      { timeoutMs: 30_000 },
    )
  const timed = async (title, explain, run) => {
    console.log(bold(title))
    console.log(dim(`  ${explain}`))
    const began = Date.now()
    await run()
    console.log(dim(`  done in ${Date.now() - began} ms\n`))
  }

  await timed(
    "1. message — build asks plan for a review; plan hands back to build",
    "Each hand-off waits for the calling turn to end, then arrives as a user message in the same session.",
    async () => {
      const back = cue({ mode: "message", agent: "build", text: "Fix what the review found" })
      const id = await start(cue({ mode: "message", agent: "plan", text: `Review the auth module, then hand back.\n${back}` }))
      await answered(id, "build", /Fix what the review found$/)
      await oc.waitForIdle(id)
      await show(id)
    },
  )

  await timed(
    "2. new — a clean hand-off to plan in a fresh session",
    "The tool returns at once with the new session; plan answers there without the old history.",
    async () => {
      const id = await start(cue({ mode: "new", agent: "plan", text: "Design a rate limiter" }))
      const call = await until(async () => toolParts(await oc.messages(id)).find((p) => p.state.status === "completed"))
      const branch = /session (\S+) "/.exec(call.state.output)?.[1]
      await answered(branch, "plan", /Design a rate limiter$/)
      await oc.waitForIdle(id)
      await show(id)
      await show(branch)
    },
  )

  await timed(
    "3. compact — summarize the session, then plan answers on the summary",
    "The summary replaces the history for the model; a note records the hand-off.",
    async () => {
      const id = await start(cue({ mode: "compact", agent: "plan", text: "Review the architecture so far" }))
      await answered(id, "plan", /Review the architecture so far$/)
      await show(id)
    },
  )

  await timed(
    "4. fork — three alternatives explored in parallel",
    "Each fork copies the history up to the call; all three answer at the same time (each takes 1.5 s).",
    async () => {
      const options = ["Redux", "Context API", "Zustand"]
      const id = await start(cue(...options.map((name) => ({ mode: "fork", text: `DELAY 1500\nImplement state with ${name}` }))))
      const calls = await until(async () => {
        const done = toolParts(await oc.messages(id)).filter((p) => p.state.status === "completed")
        return done.length === 3 ? done : null
      })
      const forks = calls.map((call) => /into (\S+) /.exec(call.state.output)?.[1])
      await Promise.all(forks.map((fork, n) => answered(fork, "build", new RegExp(`${options[n]}$`))))
      await oc.waitForIdle(id)
      await show(id)
      for (const fork of forks) await show(fork)
    },
  )
}

main().catch((error) => {
  console.error(`demo failed: ${error?.message ?? error}`)
  process.exit(1)
})
