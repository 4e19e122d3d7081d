// Run by Node or by a Bun: installs a plugin package the way OpenCode 2 installs
// one named in cli.json `plugins`, loads it the way OpenCode 2 loads it, and
// hands one message over through the model of OpenCode 2's plugin API.
// Argument: JSON {spec, model} (the package spec, the file URL of
// __test__/v2/fake-opencode-2.mjs). The npm settings come from the environment,
// as OpenCode 2 reads them; the cache root is $XDG_CACHE_HOME/opencode.
// Prints one JSON line: what was installed, what resolved, what the plugin did.
//
// The installer it follows (repository anomalyco/opencode, 2.0.17 = commit 04f4b061):
// - packages/util/src/npm.ts @073a5842: the cache key `<name>@<spec>` ("latest" for a bare
//   name) under `<cache>/npm/`; Arborist({...npm config, path: <staging>, binLinks: true,
//   progress: false, savePrefix: "", ignoreScripts: true}).reify({...npm config, add: [spec],
//   save: true, saveType: "prod"}) into `.staging-<ms>-<uuid>`, renamed to the generation
//   `<ms>`; the entry resolved after the rename, from `node_modules/<name>`, trying the
//   subpaths the loader asks for in order
// - packages/util/src/npm-config.ts @ae9f5d8e: the npm config is @npmcli/config's `flat`,
//   loaded with cwd and --prefix set to the cache key directory and the process environment
// - packages/util/src/runtime/import.bun.ts @ae9f5d8e: Bun resolves with
//   Bun.resolveSync(specifier, directory) and imports with import();
//   packages/util/src/runtime/import.node.ts @a8c1b58b: Node resolves with
//   import.meta.resolve as from `<directory>/package.json` (here its parent-URL form)
// - packages/core/src/plugin/module.ts @07db2b92: subpaths ["server", ""], then "tui" and
//   "rpc" probed as features
// - versions: root package.json @04f4b061 (catalog @npmcli/arborist 9.4.0),
//   packages/util/package.json @04f4b061 (@npmcli/config 10.8.1); both are devDependencies here

import crypto from "node:crypto"
import fs from "node:fs"
import path from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"

const { spec, model } = JSON.parse(process.argv[2])

/** `@npmcli/config`'s flat config for `dir`, as OpenCode 2's NpmConfig.load builds it. */
async function npmConfig(dir) {
  const { default: Config } = await import("@npmcli/config")
  const { default: npmDefinitions } = await import("@npmcli/config/lib/definitions/index.js")
  const { definitions, flatten, nerfDarts, shorthands } = npmDefinitions
  const config = new Config({
    npmPath: fileURLToPath(new URL(".", import.meta.url)),
    cwd: dir,
    env: { ...process.env },
    argv: [process.execPath, process.execPath, "--prefix", dir],
    execPath: process.execPath,
    platform: process.platform,
    definitions,
    flatten,
    nerfDarts,
    shorthands,
    warn: false,
  })
  await config.load()
  return config.flat
}

/** A file URL for `specifier` resolved from the package directory `directory`, or undefined. */
function resolveModule(specifier, directory) {
  try {
    if (typeof Bun !== "undefined") return pathToFileURL(Bun.resolveSync(specifier, directory)).href
    const resolved = import.meta.resolve(specifier, pathToFileURL(path.join(directory, "package.json")).href)
    fs.statSync(new URL(resolved))
    return resolved
  } catch {
    return undefined
  }
}

const name = spec // a bare registry name: its spec is "latest"
const root = path.join(process.env.XDG_CACHE_HOME, "opencode", "npm", `${name}@latest`)
fs.mkdirSync(root, { recursive: true })
const staging = path.join(fs.realpathSync(root), `.staging-${Date.now()}-${crypto.randomUUID()}`)

const logged = []
const onLog = (level, ...args) => {
  if (level === "warn" || level === "error")
    logged.push({ level, message: args.map((arg) => (typeof arg === "string" ? arg : JSON.stringify(arg))).join(" ") })
}
process.on("log", onLog)
const { Arborist } = await import("@npmcli/arborist")
const options = await npmConfig(root)
const arborist = new Arborist({ ...options, path: staging, binLinks: true, progress: false, savePrefix: "", ignoreScripts: true })
const tree = await arborist.reify({ ...options, add: [spec], save: true, saveType: "prod" })
process.off("log", onLog)
const first = tree.edgesOut.values().next().value?.to

const generation = path.join(root, String(Date.now()))
fs.renameSync(staging, generation)
const directory = path.join(generation, "node_modules", first.name)
const resolved = Object.fromEntries(
  ["server", "", "tui", "rpc"].map((sub) => [sub, resolveModule([first.name, sub].filter(Boolean).join("/"), directory)]),
)
const entrypoint = resolved.server ?? resolved[""]

const { decodeDefinition, FakeOpencode2, cue, isolateState } = await import(model)
const mod = await import(entrypoint)
const decoded = decodeDefinition(mod)
isolateState()
const oc = new FakeOpencode2()
await oc.load(mod)
const sessionID = await oc.startTurn(cue({ mode: "message", agent: "plan", text: "Review the auth module" }))
await oc.until(() => oc.transcript(sessionID).some((line) => line.startsWith("plan: ")) && oc.idle(sessionID), {
  describe: () => oc.transcript(sessionID).join("\n"),
})
const tool = oc.tools.get("session")
const transcript = oc.transcript(sessionID)
const stderr = oc.stderr
await oc.stop()

console.log(
  JSON.stringify({
    versions: process.versions,
    nodeVersion: arborist.options.nodeVersion,
    cacheEntries: fs.readdirSync(root),
    generation: path.relative(root, generation),
    installedName: first.name,
    rootManifest: JSON.parse(fs.readFileSync(path.join(generation, "package.json"), "utf8")),
    modules: fs.readdirSync(path.join(generation, "node_modules")).filter((entry) => !entry.startsWith(".")),
    logged,
    resolved: Object.fromEntries(
      Object.entries(resolved).map(([sub, url]) => [sub, url ? path.relative(generation, fileURLToPath(url)) : null]),
    ),
    decoded: { keys: Object.keys(decoded), id: decoded.id },
    tool: tool && { name: tool.name, options: tool.options },
    transcript,
    stderr,
  }),
)
