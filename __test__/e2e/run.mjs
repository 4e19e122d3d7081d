// Runs `opencode run` once, isolated as startOpencode isolates `serve`: its
// own home, config, data, cache, state and project directories, the scripted
// model, and this repository's plugin loaded by path. Node built-ins only;
// bounded in time.
//
//   const { code, stdout, stderr, ms } = await runOpencode({ message, modelUrl })
//
// The message goes in on stdin: `run` re-quotes words of its command line that
// hold spaces, and reads piped input verbatim. `run` resolves its project from
// $PWD, so PWD is set to the project directory.

import { spawn, spawnSync } from "node:child_process"
import fsp from "node:fs/promises"
import os from "node:os"
import path from "node:path"
import { fileURLToPath } from "node:url"
import { buildConfig, cleanEnv, isolatedEnv, resolveOpencodeBin, seedOpencodeConfigDir } from "./opencode.mjs"

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..")
export const DEFAULT_RUN_TIMEOUT_MS = 90_000

/** Process groups of runs still going, killed if this process exits first. */
const running = new Set()
process.on("exit", () => {
  for (const pgid of running) kill(pgid)
})

function kill(pgid) {
  try {
    process.kill(-pgid, "SIGKILL")
  } catch {
    // already gone
  }
}

/**
 * @param {object} options
 * @param {string} options.message the prompt, piped on stdin
 * @param {string} options.modelUrl the scripted model's URL
 * @param {string} [options.agent] `--agent`
 * @param {string} [options.pluginPath] the plugin to load; this repository by default
 * @param {unknown} [options.pluginOptions]
 * @param {number} [options.timeoutMs] the run is killed after this long
 * @returns {Promise<{code: number | null, signal: string | null, stdout: string, stderr: string, ms: number, timedOut: boolean}>}
 */
export async function runOpencode({
  message,
  modelUrl,
  agent = "build",
  pluginPath = REPO,
  pluginOptions,
  timeoutMs = DEFAULT_RUN_TIMEOUT_MS,
}) {
  const root = await fsp.realpath(await fsp.mkdtemp(path.join(os.tmpdir(), "oc-run-")))
  const dirs = Object.fromEntries(
    ["home", "xdg-config", "xdg-data", "xdg-cache", "xdg-state", "tmp", "project"].map((name) => [name, path.join(root, name)]),
  )
  for (const dir of Object.values(dirs)) await fsp.mkdir(dir, { recursive: true })
  const project = dirs.project
  const config = buildConfig({ pluginPath, pluginOptions, modelUrl })
  await fsp.writeFile(path.join(project, "opencode.json"), JSON.stringify(config, null, 2))
  await seedOpencodeConfigDir(path.join(dirs["xdg-config"], "opencode"))
  const gitEnv = { ...cleanEnv(process.env), HOME: dirs.home }
  spawnSync("git", ["init", "-q"], { cwd: project, timeout: 10_000, stdio: "ignore", env: gitEnv })
  spawnSync("git", ["-c", "user.email=e2e@test", "-c", "user.name=e2e", "commit", "-q", "--allow-empty", "-m", "init"], {
    cwd: project,
    timeout: 10_000,
    stdio: "ignore",
    env: gitEnv,
  })

  const xdg = { config: dirs["xdg-config"], data: dirs["xdg-data"], cache: dirs["xdg-cache"], state: dirs["xdg-state"] }
  // `run` resolves its project from $PWD before its working directory.
  const env = { ...isolatedEnv({ home: dirs.home, tmp: dirs.tmp, ...xdg }), PWD: project }

  const started = Date.now()
  const args = ["run", "--print-logs", "--log-level", "INFO", "--agent", agent]
  const child = spawn(resolveOpencodeBin(), args, { cwd: project, env, stdio: ["pipe", "pipe", "pipe"], detached: true })
  running.add(child.pid)
  child.stdin.on("error", () => {})
  child.stdin.end(message)
  let stdout = ""
  let stderr = ""
  child.stdout.on("data", (chunk) => {
    stdout += chunk
  })
  child.stderr.on("data", (chunk) => {
    stderr += chunk
  })
  let timedOut = false
  const timer = setTimeout(() => {
    timedOut = true
    kill(child.pid)
  }, timeoutMs)
  const { code, signal } = await new Promise((resolve) => child.on("close", (code, signal) => resolve({ code, signal })))
  clearTimeout(timer)
  // Whatever it left behind in its group goes too.
  kill(child.pid)
  running.delete(child.pid)
  if (process.env.KEEP_E2E === "1") process.stderr.write(`opencode run kept in ${root}\n`)
  else await fsp.rm(root, { recursive: true, force: true })
  return { code, signal, stdout, stderr, ms: Date.now() - started, timedOut }
}
