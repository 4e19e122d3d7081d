// Drive an isolated `opencode serve` for end-to-end tests: the dev dependency's release,
// or the one OPENCODE_VERSION names (see scripts/opencode-releases.mjs).
// Node built-ins only. Everything is bounded in time.
//
//   const oc = await startOpencode({ pluginPath, pluginOptions, modelUrl, agents })
//   const s = await oc.createSession("t")
//   await oc.promptAsync(s.id, "hello", "plan")   // remembers an event mark for the session
//   await oc.waitForIdle(s.id)                     // first idle after that mark
//   const msgs = await oc.messages(s.id)           // [{ info, parts }]
//   await oc.stop()
//   oc.listenMs, oc.bootMs                         // spawn -> listening; spawn -> instance booted (plugins loaded)
//
// Events come from GET /global/event (payload { directory, project?, payload: { id, type,
// properties } }) and are stored normalized as { seq, at, type, properties, directory, raw }.
// The server runs in its own process group under a tiny sh guard that kills it when this Node
// process dies (even by SIGKILL).
//
// Env: KEEP_E2E=1 keeps the temp root (config, data, server log) after stop();
//      E2E_VERBOSE=1 mirrors the server output to stderr; OPENCODE_BIN overrides the binary.

import { spawn, spawnSync } from "node:child_process"
import fs from "node:fs"
import fsp from "node:fs/promises"
import http from "node:http"
import { createRequire } from "node:module"
import os from "node:os"
import path from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"
import { ensureOpencode, ensureRipgrep, needsRipgrep, takesPluginOptions } from "../../scripts/opencode-releases.mjs"

const HERE = path.dirname(fileURLToPath(import.meta.url))
const REPO_ROOT = path.resolve(HERE, "..", "..")

/** A line of OpenCode's log at level error: `level=ERROR …` (1.18), `ERROR  <time> …` (up to 1.15). */
export const ERROR_LINE = /(?:^|\s)level=ERROR\s|^ERROR\s/

export const DEFAULT_REQUEST_TIMEOUT_MS = 15_000
export const DEFAULT_BOOT_TIMEOUT_MS = 45_000
export const DEFAULT_WAIT_TIMEOUT_MS = 30_000

/**
 * Absolute path of the opencode executable: env OPENCODE_BIN, else the release
 * env OPENCODE_VERSION names (fetched into the cache by scripts/opencode-releases.mjs),
 * else the installed dev dependency.
 */
export function resolveOpencodeBin() {
  if (process.env.OPENCODE_BIN) return process.env.OPENCODE_BIN
  if (process.env.OPENCODE_VERSION) return ensureOpencode(process.env.OPENCODE_VERSION)
  try {
    const require = createRequire(path.join(REPO_ROOT, "package.json"))
    const pkgJson = require.resolve("opencode-ai/package.json")
    const pkg = JSON.parse(fs.readFileSync(pkgJson, "utf8"))
    const rel = typeof pkg.bin === "string" ? pkg.bin : pkg.bin?.opencode
    if (rel) {
      const bin = path.resolve(path.dirname(pkgJson), rel)
      if (fs.existsSync(bin)) return bin
    }
  } catch {
    // fall through
  }
  const fallback = path.join(REPO_ROOT, "node_modules", ".bin", "opencode")
  if (fs.existsSync(fallback)) return fallback
  throw new Error(`opencode executable not found (looked in ${REPO_ROOT}/node_modules); run npm ci or set OPENCODE_BIN`)
}

const versionOfBin = new Map()
/** The version of the release the tests run, e.g. "1.3.2" (asked of each binary once). */
export function opencodeVersion() {
  const bin = resolveOpencodeBin()
  if (!process.env.OPENCODE_BIN && process.env.OPENCODE_VERSION) return process.env.OPENCODE_VERSION
  if (!versionOfBin.has(bin)) {
    const out = spawnSync(bin, ["--version"], { encoding: "utf8", timeout: 30_000, env: { ...cleanEnv(process.env), NO_COLOR: "1" } })
    versionOfBin.set(bin, /\d+\.\d+\.\d+/.exec(out.stdout ?? "")?.[0] ?? "unknown")
  }
  return versionOfBin.get(bin)
}

// ---------------------------------------------------------------------------------------------
// helpers

function withTimeout(promise, ms, what) {
  let t
  const timeout = new Promise((_, reject) => {
    t = setTimeout(() => reject(new Error(`timeout after ${ms} ms: ${what}`)), ms)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(t))
}

/** Resolve with the promise's value, or `fallback` after `ms` (timer cleared either way). */
function within(promise, ms, fallback = null) {
  let t
  return Promise.race([promise, new Promise((r) => (t = setTimeout(() => r(fallback), ms)))]).finally(() => clearTimeout(t))
}

/** Agent configs: array of names / {name,...} objects, or a {name: config} map. */
function normalizeAgents(agents) {
  const out = {}
  if (!agents) return out
  if (Array.isArray(agents)) {
    for (const a of agents) {
      if (typeof a === "string") out[a] = {}
      else if (a && typeof a.name === "string") {
        const { name, ...rest } = a
        out[name] = rest
      } else throw new TypeError(`bad agent entry: ${JSON.stringify(a)}`)
    }
  } else if (typeof agents === "object") {
    for (const [name, cfg] of Object.entries(agents)) out[name] = cfg && typeof cfg === "object" ? { ...cfg } : {}
  }
  return out
}

function agentConfig(name, cfg = {}) {
  const marker = `AGENT=${name}`
  const base = `${marker}\nYou are the "${name}" test agent.`
  const prompt = typeof cfg.prompt === "string" ? (cfg.prompt.includes(marker) ? cfg.prompt : `${marker}\n${cfg.prompt}`) : base
  const out = { ...cfg, prompt }
  if (name !== "build" && name !== "plan") {
    out.description ??= `Test agent ${name}`
    out.mode ??= "primary"
  }
  return out
}

function isPlainObject(v) {
  return v !== null && typeof v === "object" && !Array.isArray(v)
}

function deepMerge(a, b) {
  if (!isPlainObject(a) || !isPlainObject(b)) return b
  const out = { ...a }
  for (const [k, v] of Object.entries(b)) out[k] = k in a ? deepMerge(a[k], v) : v
  return out
}

/**
 * `<project>/.opencode/plugin/opencode-sessions-options.js`: calls the
 * plugin's `createPlugin` with `options`. `pluginPath` is the package
 * directory or an entry file exporting `createPlugin`.
 */
async function writeOptionsPlugin(directory, pluginPath, options) {
  const entry = fs.statSync(pluginPath).isDirectory() ? path.join(pluginPath, "lib", "opencode-sessions.js") : pluginPath
  const dir = path.join(directory, ".opencode", "plugin")
  await fsp.mkdir(dir, { recursive: true })
  const source = `import { createPlugin } from ${JSON.stringify(pathToFileURL(entry).href)}

export const sessions = (input) => createPlugin(input, ${JSON.stringify(options)})
`
  await fsp.writeFile(path.join(dir, "opencode-sessions-options.js"), source)
}

/**
 * The environment of an isolated OpenCode: its own home, XDG folders and
 * temp folder, none of the caller's providers, no fetches of its own, and
 * ripgrep on PATH for a release that needs it.
 * @param {{home: string, config: string, data: string, cache: string, state: string, tmp: string}} dirs
 */
export function isolatedEnv(dirs) {
  const ripgrep = needsRipgrep(opencodeVersion()) ? ensureRipgrep() : null
  return {
    ...cleanEnv(process.env),
    ...(ripgrep ? { PATH: `${ripgrep}${path.delimiter}${process.env.PATH ?? ""}` } : {}),
    HOME: dirs.home,
    USERPROFILE: dirs.home,
    XDG_CONFIG_HOME: dirs.config,
    XDG_DATA_HOME: dirs.data,
    XDG_CACHE_HOME: dirs.cache,
    XDG_STATE_HOME: dirs.state,
    TMPDIR: dirs.tmp,
    NO_COLOR: "1",
    OPENCODE_DISABLE_MODELS_FETCH: "1",
    OPENCODE_DISABLE_AUTOUPDATE: "1",
    OPENCODE_DISABLE_SHARE: "1",
    OPENCODE_DISABLE_LSP_DOWNLOAD: "1",
    OPENCODE_DISABLE_CLAUDE_CODE: "1",
    OPENCODE_DISABLE_EXTERNAL_SKILLS: "1",
    OPENCODE_EXPERIMENTAL_DISABLE_FILEWATCHER: "1",
  }
}

/**
 * The scripted model's provider id. Releases before 1.14 name the session of
 * a model request (header `x-opencode-session`) only to providers whose id
 * starts with "opencode"; later ones send `x-session-affinity` to any. The
 * mock reads either, so every release's requests can be told apart by session.
 */
export const MOCK_PROVIDER = "opencode-mock"

/** Build the project opencode.json. */
export function buildConfig({ pluginPath = null, pluginOptions, modelUrl, agents, extraConfig } = {}) {
  if (!modelUrl) throw new Error("buildConfig: modelUrl is required")
  const agentCfgs = { build: {}, plan: {}, ...normalizeAgents(agents) }
  const agent = {}
  for (const [name, cfg] of Object.entries(agentCfgs)) agent[name] = agentConfig(name, cfg)
  const config = {
    $schema: "https://opencode.ai/config.json",
    autoupdate: false,
    share: "disabled",
    provider: {
      [MOCK_PROVIDER]: {
        npm: "@ai-sdk/openai-compatible",
        name: "Mock LLM",
        options: { baseURL: modelUrl, apiKey: "mock-key" },
        models: {
          "mock-model": {
            name: "Mock Model",
            tool_call: true,
            limit: { context: 200000, output: 8192 },
          },
        },
      },
    },
    enabled_providers: [MOCK_PROVIDER],
    model: `${MOCK_PROVIDER}/mock-model`,
    small_model: `${MOCK_PROVIDER}/mock-model`,
    agent,
  }
  if (pluginPath) config.plugin = pluginOptions === undefined ? [pluginPath] : [[pluginPath, pluginOptions]]
  return extraConfig ? deepMerge(config, extraConfig) : config
}

export function cleanEnv(base) {
  const env = {}
  for (const [k, v] of Object.entries(base)) {
    if (v === undefined) continue
    if (k.startsWith("OPENCODE")) continue // e.g. when the tests themselves run inside opencode
    if (k === "AGENT") continue
    if (/_API_KEY$|_AUTH_TOKEN$/.test(k)) continue // no real providers
    if (/^(AWS_|GOOGLE_APPLICATION|AZURE_|GITHUB_TOKEN$|GH_TOKEN$)/.test(k)) continue
    if (k.startsWith("XDG_")) continue
    if (k === "BUN_BE_BUN") continue
    if (k.startsWith("GIT_")) continue // e.g. GIT_DIR when run from a git hook
    if (/^npm_/i.test(k)) continue // e.g. the cache and user config an `npm test` run exports
    env[k] = v
  }
  return env
}

/**
 * opencode runs `npm install @opencode-ai/plugin` (arborist reify, needs the registry, ~seconds) in
 * its global config dir (and every .opencode dir) unless node_modules exists and every dependency of
 * package.json is listed in package-lock.json's root package. Seed a satisfied install so the server
 * stays offline and does not have a background npm job running when it is stopped.
 */
export async function seedOpencodeConfigDir(configDir) {
  const version = (() => {
    try {
      const require = createRequire(path.join(REPO_ROOT, "package.json"))
      return JSON.parse(fs.readFileSync(require.resolve("@opencode-ai/plugin/package.json"), "utf8")).version
    } catch {
      return "1.18.33"
    }
  })()
  const deps = { "@opencode-ai/plugin": version }
  await fsp.mkdir(path.join(configDir, "node_modules", "@opencode-ai"), { recursive: true })
  await fsp.writeFile(path.join(configDir, "package.json"), JSON.stringify({ dependencies: deps }, null, 2))
  await fsp.writeFile(
    path.join(configDir, "package-lock.json"),
    JSON.stringify({ name: "opencode", lockfileVersion: 3, requires: true, packages: { "": { dependencies: deps } } }, null, 2),
  )
  const repoPlugin = path.join(REPO_ROOT, "node_modules", "@opencode-ai", "plugin")
  if (fs.existsSync(repoPlugin)) {
    await fsp.symlink(repoPlugin, path.join(configDir, "node_modules", "@opencode-ai", "plugin"), "dir").catch(() => {})
  }
}

// $1 = opencode binary, rest = its arguments. Background jobs of a non-interactive sh get stdin
// from /dev/null, so the parent pipe is kept on fd 3 for the watcher.
const GUARD_SCRIPT = `
exec 3<&0
"$@" </dev/null &
oc=$!
( read _ <&3; kill -TERM "$oc" 2>/dev/null; sleep 3; kill -KILL "$oc" 2>/dev/null ) &
watcher=$!
exec 3<&-
trap 'kill -TERM "$oc" 2>/dev/null' TERM INT HUP
wait "$oc"
code=$?
while kill -0 "$oc" 2>/dev/null; do wait "$oc"; code=$?; done
kill "$watcher" 2>/dev/null
exit "$code"
`

// Every live handle, so a crashing test run does not leave servers behind.
const live = new Set()
let exitHookInstalled = false
function installExitHook() {
  if (exitHookInstalled) return
  exitHookInstalled = true
  const killAll = () => {
    for (const h of live) h._killSync()
  }
  process.on("exit", killAll)
  // The servers run in their own process group (detached), so a signal to the test process does
  // not reach them: kill them, then re-raise the signal with the default behaviour.
  for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"]) {
    const onSignal = () => {
      killAll()
      process.off(sig, onSignal)
      if (process.listenerCount(sig) === 0) process.kill(process.pid, sig)
    }
    process.on(sig, onSignal)
  }
}

// ---------------------------------------------------------------------------------------------
// SSE client (node:http: no body/idle timeouts of its own; closed explicitly)

function openSse(url, { onEvent, onStatus, onEnd }) {
  let req
  let closed = false
  let buffer = ""
  const connected = new Promise((resolve, reject) => {
    req = http.get(url, { headers: { accept: "text/event-stream" } }, (res) => {
      onStatus?.(res.statusCode)
      if (res.statusCode !== 200) {
        let text = ""
        res.setEncoding("utf8")
        res.on("data", (c) => (text += c))
        res.on("end", () => reject(new Error(`SSE ${url}: HTTP ${res.statusCode} ${text.slice(0, 500)}`)))
        return
      }
      resolve()
      res.setEncoding("utf8")
      res.on("data", (chunk) => {
        buffer += chunk
        for (let idx = buffer.search(/\r?\n\r?\n/); idx >= 0; idx = buffer.search(/\r?\n\r?\n/)) {
          const block = buffer.slice(0, idx)
          buffer = buffer.slice(idx).replace(/^\r?\n\r?\n/, "")
          const data = block
            .split(/\r?\n/)
            .filter((l) => l.startsWith("data:"))
            .map((l) => l.slice(5).replace(/^ /, ""))
            .join("\n")
          if (!data) continue
          try {
            onEvent(JSON.parse(data))
          } catch (err) {
            onEvent({ type: "sse.unparsed", properties: { data, error: String(err) } })
          }
        }
      })
      res.on("end", () => !closed && onEnd?.(new Error("SSE stream ended")))
      res.on("error", (err) => !closed && onEnd?.(err))
    })
    req.on("error", (err) => {
      if (!closed) {
        reject(err)
        onEnd?.(err)
      }
    })
  })
  return {
    connected,
    close() {
      closed = true
      req?.destroy()
    },
  }
}

// ---------------------------------------------------------------------------------------------

/**
 * Start an isolated `opencode serve`.
 *
 * @param {object} o
 * @param {string|null} [o.pluginPath]   plugin spec (abs path, file: spec, npm name); null/undefined = no plugin
 * @param {object} [o.pluginOptions]     options object -> "plugin": [[pluginPath, pluginOptions]], or, on a
 *                                        release that takes none there, a project plugin file passing them
 * @param {"auto"|"config"} [o.pluginOptionsIn] "config": always in `plugin`, whatever the release
 * @param {string} o.modelUrl            mock model base URL (".../v1")
 * @param {Array|object} [o.agents]      extra agents: ["review", {name:"helper", mode:"subagent"}] or {review:{}, helper:{mode:"subagent"}}
 * @param {object} [o.extraConfig]       deep-merged into opencode.json
 * @param {number} [o.timeoutMs]         boot timeout (default 45 s)
 * @param {number} [o.requestTimeoutMs]  default per-request timeout (default 15 s)
 * @param {object} [o.env]               extra environment variables for the server
 * @param {boolean} [o.git]              git-init the project dir (default true when git exists)
 * @param {string} [o.logLevel]          server log level (default "INFO")
 * @param {string} [o.root]            the directories of an earlier, stopped server (its `root`), to
 *                                       start again on the same sessions and state
 * @param {string} [o.cacheDir]          XDG_CACHE_HOME to use (and keep) instead of a fresh one, e.g.
 *                                       to boot again with the npm plugins an earlier server installed
 * @param {(line:string)=>void} [o.log]  receives harness diagnostics
 */
export async function startOpencode({
  pluginPath = null,
  pluginOptions,
  pluginOptionsIn = "auto",
  modelUrl,
  agents,
  extraConfig,
  timeoutMs = DEFAULT_BOOT_TIMEOUT_MS,
  requestTimeoutMs = DEFAULT_REQUEST_TIMEOUT_MS,
  env: extraEnv = {},
  git = true,
  logLevel = "INFO",
  seedConfigDeps = true,
  cacheDir,
  root: reuseRoot,
  log,
} = {}) {
  const bootStarted = Date.now()
  const say = typeof log === "function" ? log : () => {}
  const bin = resolveOpencodeBin()

  // --- isolated directories
  const root = reuseRoot ?? (await fsp.realpath(await fsp.mkdtemp(path.join(os.tmpdir(), "oc-e2e-"))))
  const dirs = {
    home: path.join(root, "home"),
    config: path.join(root, "xdg-config"),
    data: path.join(root, "xdg-data"),
    cache: cacheDir ?? path.join(root, "xdg-cache"),
    state: path.join(root, "xdg-state"),
    tmp: path.join(root, "tmp"),
    project: path.join(root, "project"),
  }
  for (const d of Object.values(dirs)) await fsp.mkdir(d, { recursive: true })
  const directory = dirs.project
  const logFile = path.join(root, "opencode.log")

  // Releases before 1.14 take no options in `plugin` (an entry `[path, {…}]`
  // makes their config invalid): there the options go through a plugin file
  // of the project's own, as the README tells their users.
  const optionsByFile = pluginPath && pluginOptions !== undefined && pluginOptionsIn !== "config" && !takesPluginOptions(opencodeVersion())
  const config = buildConfig({ pluginPath: optionsByFile ? null : pluginPath, pluginOptions, modelUrl, agents, extraConfig })
  await fsp.writeFile(path.join(directory, "opencode.json"), JSON.stringify(config, null, 2))
  if (optionsByFile) await writeOptionsPlugin(directory, pluginPath, pluginOptions)

  if (seedConfigDeps) await seedOpencodeConfigDir(path.join(dirs.config, "opencode"))

  if (git && !reuseRoot) {
    const r = spawnSync("git", ["init", "-q"], {
      cwd: directory,
      timeout: 10_000,
      stdio: "ignore",
      env: { ...cleanEnv(process.env), HOME: dirs.home },
    })
    if (r.status === 0) {
      spawnSync("git", ["-c", "user.email=e2e@test", "-c", "user.name=e2e", "commit", "-q", "--allow-empty", "-m", "init"], {
        cwd: directory,
        timeout: 10_000,
        stdio: "ignore",
        env: { ...cleanEnv(process.env), HOME: dirs.home },
      })
    }
  }

  const env = { ...isolatedEnv(dirs), ...extraEnv }

  // --- spawn
  const logStream = fs.createWriteStream(logFile, { flags: "a" })
  logStream.on("error", () => {})
  const writeLog = (text) => {
    if (!logStream.writableEnded && !logStream.destroyed) logStream.write(text)
  }
  const verbose = process.env.E2E_VERBOSE === "1"
  const args = ["serve", "--hostname", "127.0.0.1", "--port", "0", "--print-logs", "--log-level", logLevel]
  writeLog(`# ${new Date().toISOString()} ${bin} ${args.join(" ")}\n# cwd ${directory}\n`)
  // Run under a small sh guard in a new process group: the guard holds our stdin pipe and kills
  // opencode when it reads EOF, i.e. when this Node process dies in any way (even SIGKILL, when
  // no exit hook runs), so no server outlives the test run.
  const child = spawn("/bin/sh", ["-c", GUARD_SCRIPT, "opencode-e2e-guard", bin, ...args], {
    cwd: directory,
    env,
    detached: true,
    stdio: ["pipe", "pipe", "pipe"],
  })
  child.stdin.on("error", () => {})
  say(`opencode: spawned pgid ${child.pid}, root ${root}`)

  let exited = null // {code, signal}
  const exitPromise = new Promise((resolve) => {
    child.on("exit", (code, signal) => {
      exited = { code, signal }
      writeLog(`# exited code=${code} signal=${signal}\n`)
      resolve(exited)
      failWaiters(new Error(`opencode exited (code=${code}, signal=${signal}); log: ${logFile}\n${logTail()}`))
    })
  })
  let spawnError = null
  child.on("error", (err) => {
    spawnError = err
    failWaiters(err)
  })

  const tail = [] // last lines of output, for error messages
  function logTail(n = 25) {
    return tail.slice(-n).join("\n")
  }
  let listeningResolve
  const listening = new Promise((r) => (listeningResolve = r))
  for (const [name, stream] of [
    ["stdout", child.stdout],
    ["stderr", child.stderr],
  ]) {
    let partial = ""
    stream.setEncoding("utf8")
    stream.on("data", (chunk) => {
      writeLog(chunk)
      if (verbose) process.stderr.write(chunk)
      partial += chunk
      const lines = partial.split("\n")
      partial = lines.pop()
      for (const line of lines) {
        tail.push(`${name}: ${line}`)
        if (tail.length > 200) tail.shift()
        const m = /opencode server listening on (https?:\/\/\S+)/.exec(line)
        if (m) listeningResolve(m[1].replace(/\/+$/, ""))
      }
    })
  }

  // --- handle state
  const events = []
  const waiters = new Set()
  let sse = null
  let sseError = null
  let stopped = false
  const lastPromptMark = new Map()

  function failWaiters(err) {
    for (const w of waiters) w.reject(err)
    waiters.clear()
  }

  function pushEvent(raw) {
    // /global/event payloads: { directory, project?, workspace?, payload: { id?, type, properties } }
    const payload = raw?.payload && typeof raw.payload === "object" ? raw.payload : raw
    const ev = {
      seq: events.length,
      at: Date.now(),
      type: payload?.type,
      properties: payload?.properties ?? {},
      directory: raw?.directory ?? null,
      raw,
    }
    events.push(ev)
    for (const w of [...waiters]) {
      let ok = false
      try {
        ok = ev.seq >= w.fromSeq && w.predicate(ev)
      } catch (err) {
        waiters.delete(w)
        w.reject(err)
        continue
      }
      if (ok) {
        waiters.delete(w)
        w.resolve(ev)
      }
    }
  }

  function fromSeqOf(after) {
    if (after === undefined || after === null) return 0
    if (after instanceof Date) after = after.getTime()
    if (typeof after === "object" && typeof after.seq === "number") return after.seq + 1 // an event
    if (typeof after !== "number") throw new TypeError(`bad "after": ${after}`)
    if (after >= 1e12) {
      // a timestamp
      const i = events.findIndex((e) => e.at >= after)
      return i < 0 ? events.length : i
    }
    return after // an index from mark()
  }

  function describeRecent(n = 12) {
    return events
      .filter((e) => e.type !== "sync")
      .slice(-n)
      .map((e) => {
        const p = e.properties || {}
        const extra = p.status?.type ?? p.info?.role ?? p.part?.type ?? p.error?.name ?? ""
        return extra ? `${e.type}(${extra})` : e.type
      })
      .join(", ")
  }

  /**
   * Resolve with the first event (normalized {seq, at, type, properties, directory, raw}) matching
   * `predicate`, looking at already collected events from `opts.after` on (default: all).
   * `after`: index from mark(), a previous event, or a Date/ms timestamp.
   */
  function waitForEvent(predicate, waitMs = DEFAULT_WAIT_TIMEOUT_MS, { after, label } = {}) {
    let fromSeq
    try {
      fromSeq = fromSeqOf(after)
      for (let i = fromSeq; i < events.length; i++) if (predicate(events[i])) return Promise.resolve(events[i])
    } catch (err) {
      return Promise.reject(err)
    }
    if (exited) return Promise.reject(new Error(`opencode is not running (${JSON.stringify(exited)}); log: ${logFile}`))
    return new Promise((resolve, reject) => {
      const w = { predicate, fromSeq, resolve, reject }
      const timer = setTimeout(() => {
        waiters.delete(w)
        reject(
          new Error(
            `waitForEvent${label ? ` (${label})` : ""}: no matching event within ${waitMs} ms; ` +
              `${events.length} events so far, last: [${describeRecent()}]` +
              (sseError ? `; SSE error: ${sseError.message}` : ""),
          ),
        )
      }, waitMs)
      w.resolve = (v) => {
        clearTimeout(timer)
        resolve(v)
      }
      w.reject = (e) => {
        clearTimeout(timer)
        reject(e)
      }
      waiters.add(w)
    })
  }

  let baseUrl = null

  async function api(method, pathname, body, { timeoutMs: reqTimeout = requestTimeoutMs, query, headers } = {}) {
    if (!baseUrl) throw new Error("api: server not listening yet")
    const url = new URL(pathname, baseUrl)
    if (!url.searchParams.has("directory")) url.searchParams.set("directory", directory)
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v))
    const init = {
      method,
      headers: { accept: "application/json", ...(headers ?? {}) },
      signal: AbortSignal.timeout(reqTimeout),
    }
    if (body !== undefined && body !== null) {
      init.headers["content-type"] = "application/json"
      init.body = typeof body === "string" ? body : JSON.stringify(body)
    }
    let res
    try {
      res = await fetch(url, init)
    } catch (err) {
      const why = err?.name === "TimeoutError" ? `timed out after ${reqTimeout} ms` : String(err?.cause ?? err)
      throw new Error(`${method} ${pathname}: ${why}${exited ? ` (opencode exited ${JSON.stringify(exited)})` : ""}`)
    }
    const text = await withTimeout(res.text(), reqTimeout, `${method} ${pathname} body`)
    if (!res.ok) {
      const err = new Error(`${method} ${pathname}: HTTP ${res.status} ${text.slice(0, 2000)}`)
      err.status = res.status
      err.body = text
      throw err
    }
    if (res.status === 204 || text.length === 0) return null
    const type = res.headers.get("content-type") || ""
    if (type.includes("json")) return JSON.parse(text)
    try {
      return JSON.parse(text)
    } catch {
      return text
    }
  }

  const handle = {
    directory,
    logFile,
    config,
    dirs,
    events,
    get url() {
      return baseUrl
    },
    get pid() {
      return child.pid
    },
    get exited() {
      return exited
    },
    /** session.error events without a sessionID (plugin install/load failures), as error objects. */
    get pluginErrors() {
      return events.filter((e) => e.type === "session.error" && !e.properties?.sessionID).map((e) => e.properties?.error ?? e.properties)
    },
    /**
     * Errors thrown by a plugin's server function are only logged (not published as events):
     * the `failed to load plugin` lines of the server log.
     */
    pluginLogErrors() {
      return handle
        .readLog()
        .split("\n")
        .filter((l) => ERROR_LINE.test(l) && /failed to load (internal )?plugin/.test(l))
    },
    /** Messages of pluginErrors, flattened to strings. */
    pluginErrorMessages() {
      return handle.pluginErrors.map((e) => e?.data?.message ?? e?.message ?? JSON.stringify(e))
    },
    api,
    waitForEvent,
    /** Index to pass as `after` to waitForEvent / waitForIdle. */
    mark() {
      return events.length
    },
    logTail,
    readLog() {
      try {
        return fs.readFileSync(logFile, "utf8")
      } catch {
        return ""
      }
    },
    describeRecent,

    // --- convenience
    async createSession(title, extra = {}) {
      return api("POST", "/session", title === undefined ? { ...extra } : { title, ...extra })
    },
    /**
     * POST /session/{id}/prompt_async (204). Returns the event mark taken just before sending,
     * which waitForIdle(sessionID) uses by default.
     */
    async promptAsync(sessionID, text, agent, extra = {}) {
      const body = { parts: [{ type: "text", text }], ...extra }
      if (agent) body.agent = agent
      const mark = events.length
      lastPromptMark.set(sessionID, mark)
      await api("POST", `/session/${encodeURIComponent(sessionID)}/prompt_async`, body)
      return mark
    },
    /** Blocking prompt (returns the last assistant message {info, parts}). */
    async prompt(sessionID, text, agent, extra = {}, opts = {}) {
      const body = { parts: [{ type: "text", text }], ...extra }
      if (agent) body.agent = agent
      return api("POST", `/session/${encodeURIComponent(sessionID)}/message`, body, {
        timeoutMs: DEFAULT_WAIT_TIMEOUT_MS,
        ...opts,
      })
    },
    async messages(sessionID) {
      return api("GET", `/session/${encodeURIComponent(sessionID)}/message`)
    },
    async session(sessionID) {
      return api("GET", `/session/${encodeURIComponent(sessionID)}`)
    },
    async sessions() {
      return api("GET", "/session")
    },
    async agents() {
      return api("GET", "/agent")
    },
    /**
     * Wait until `sessionID` goes idle (session.idle, or session.status idle) after `after`
     * (mark() index, an event, or a ms timestamp; default: the mark taken by the last
     * promptAsync() on this session, else the moment of the call). With failOnError (default)
     * a session.error for the session (other than MessageAbortedError) rejects at once, e.g.
     * "Agent not found" after prompt_async, which is never followed by idle.
     */
    async waitForIdle(sessionID, { after, timeoutMs: waitMs = DEFAULT_WAIT_TIMEOUT_MS, failOnError = true } = {}) {
      const from = after ?? lastPromptMark.get(sessionID) ?? events.length
      const ev = await waitForEvent(
        (e) =>
          e.properties?.sessionID === sessionID &&
          (e.type === "session.idle" ||
            (e.type === "session.status" && e.properties?.status?.type === "idle") ||
            (failOnError && e.type === "session.error" && e.properties?.error?.name !== "MessageAbortedError")),
        waitMs,
        { after: from, label: `idle ${sessionID}` },
      )
      if (ev.type === "session.error") {
        const err = ev.properties.error
        const e = new Error(`session ${sessionID} error: ${err?.name}: ${err?.data?.message ?? JSON.stringify(err)}`)
        e.event = ev
        throw e
      }
      return ev
    },
    /** Text of all text parts of the last assistant message. */
    async lastAssistantText(sessionID) {
      const msgs = await handle.messages(sessionID)
      const last = [...msgs].reverse().find((m) => m.info?.role === "assistant")
      if (!last) return null
      return last.parts
        .filter((p) => p.type === "text")
        .map((p) => p.text)
        .join("")
    },

    /** The directories this server runs in; pass as `root` to start again on them. */
    root,

    /**
     * Stops the server: SIGTERM (then SIGKILL after 3 s), or `signal` right away, e.g.
     * "SIGKILL" for a crash. `keepRoot` keeps its directories for a restart.
     */
    async stop({ signal = "SIGTERM", keepRoot = false } = {}) {
      if (stopped) return
      stopped = true
      live.delete(handle)
      sse?.close()
      failWaiters(new Error("opencode handle stopped"))
      if (!exited && !spawnError) {
        try {
          process.kill(-child.pid, signal)
        } catch {
          // already gone
        }
        const res = await within(exitPromise, 3000)
        if (!res) {
          try {
            process.kill(-child.pid, "SIGKILL")
          } catch {
            // already gone
          }
          await within(exitPromise, 2000)
        }
      }
      // leftovers in the process group (children of opencode)
      try {
        process.kill(-child.pid, "SIGKILL")
      } catch {
        // none
      }
      await within(new Promise((r) => logStream.end(r)), 2000)
      if (keepRoot) return
      if (process.env.KEEP_E2E === "1") {
        say(`opencode: kept ${root}`)
      } else {
        await fsp.rm(root, { recursive: true, force: true, maxRetries: 3 }).catch(() => {})
      }
    },
    /** Last-resort cleanup from the exit/signal hook (synchronous). */
    _killSync() {
      try {
        process.kill(-child.pid, "SIGKILL")
      } catch {
        // gone
      }
      if (process.env.KEEP_E2E !== "1") {
        try {
          fs.rmSync(root, { recursive: true, force: true, maxRetries: 2 })
        } catch {
          // best effort
        }
      }
    },
  }
  live.add(handle)
  installExitHook()

  // --- boot: listening line, global event stream, then the project instance
  try {
    const deadline = bootStarted + timeoutMs
    const left = () => Math.max(1, deadline - Date.now())
    baseUrl = await withTimeout(
      Promise.race([
        listening,
        exitPromise.then((x) => {
          throw new Error(`opencode exited before listening (${JSON.stringify(x)})`)
        }),
        new Promise((_, reject) => child.once("error", reject)),
      ]),
      left(),
      "opencode server listening line",
    )
    handle.listenMs = Date.now() - bootStarted
    say(`opencode: listening on ${baseUrl} after ${handle.listenMs} ms`)

    // /global/event carries events of every instance (incl. plugin load failures published
    // while the instance boots), each wrapped as { directory, payload: { type, properties } }.
    sse = openSse(`${baseUrl}/global/event`, {
      onEvent: pushEvent,
      onEnd: (err) => {
        if (!stopped) {
          sseError = err
          say(`opencode: SSE ended: ${err?.message}`)
        }
      },
    })
    await withTimeout(sse.connected, left(), "GET /global/event")
    await waitForEvent((e) => e.type === "server.connected", left(), { label: "server.connected" }).catch((err) => {
      say(`opencode: no server.connected event (${err.message}); continuing`)
    })

    // First request for the directory boots the instance (loads plugins).
    await api("GET", "/agent", undefined, { timeoutMs: left() })
    say(`opencode: instance booted after ${Date.now() - bootStarted} ms`)
  } catch (err) {
    const kept = process.env.KEEP_E2E === "1" ? `log ${logFile}` : "log removed, KEEP_E2E=1 keeps it"
    const msg = `startOpencode failed: ${err.message}\n(${kept}) output tail:\n${logTail()}`
    await handle.stop().catch(() => {})
    throw new Error(msg)
  }
  handle.bootMs = Date.now() - bootStarted
  return handle
}
