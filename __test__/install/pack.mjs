// Packs opencode-sessions the way it is published, for install tests:
// the main package from the repository, and the linux-x64-gnu package from a
// copy of npm/linux-x64-gnu with the freshly built binary put in, as
// `napi artifacts` does in the release workflow. Nothing is written inside
// the repository.

import { execFile } from "node:child_process"
import fs from "node:fs"
import path from "node:path"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..")
export const MAIN = JSON.parse(fs.readFileSync(path.join(REPO, "package.json"), "utf8"))
export const PLATFORM = "linux-x64-gnu"
/** Why tests that pack and load the PLATFORM package cannot run on this host, or false. */
export const NOT_ON_PLATFORM =
  process.platform === "linux" && process.arch === "x64" && process.report?.getReport?.().header?.glibcVersionRuntime
    ? false
    : `they pack and load the ${PLATFORM} package, so they need a Linux x64 host with glibc`

const run = promisify(execFile)
const NPM_TIMEOUT_MS = 180_000

/**
 * The environment for npm child processes: none of the caller's npm settings (an `npm test`
 * run exports its cache and user config), a cache of its own, and `registry` when given.
 */
export function npmEnv(workDir, registry) {
  const env = {}
  for (const [key, value] of Object.entries(process.env)) if (!/^npm_/i.test(key)) env[key] = value
  env.npm_config_cache = path.join(workDir, "npm-cache")
  env.npm_config_userconfig = path.join(workDir, "npmrc")
  env.npm_config_audit = "false"
  env.npm_config_fund = "false"
  env.npm_config_update_notifier = "false"
  if (registry) env.npm_config_registry = registry
  return env
}

/** Runs npm; rejects with its output when it fails. */
export async function npm(args, { cwd, env, timeout = NPM_TIMEOUT_MS }) {
  try {
    return await run("npm", args, { cwd, env, timeout, maxBuffer: 64 * 1024 * 1024 })
  } catch (err) {
    throw new Error(`npm ${args.join(" ")} (in ${cwd}) failed: ${err.message}\n${err.stdout ?? ""}\n${err.stderr ?? ""}`)
  }
}

/**
 * The registry the packages we do not serve come from: $npm_config_registry, else what npm is
 * configured with in this repository.
 */
export async function upstreamRegistry() {
  if (process.env.npm_config_registry) return process.env.npm_config_registry
  const { stdout } = await run("npm", ["config", "get", "registry"], { cwd: REPO, timeout: 30_000 })
  const url = stdout.trim()
  if (!/^https?:\/\//.test(url)) throw new Error(`npm config get registry gave ${JSON.stringify(url)}`)
  return url
}

async function pack(dir, destination, env) {
  const { stdout } = await npm(["pack", "--json", "--pack-destination", destination], { cwd: dir, env })
  const [info] = JSON.parse(stdout)
  return { ...info, tarball: path.join(destination, info.filename) }
}

/**
 * Packs both packages into `workDir`/packed. Each result is npm pack's JSON (name, version,
 * size, unpackedSize, files, ...) plus `tarball`, the path of the .tgz.
 */
export async function packPackages(workDir) {
  const binaryName = `${MAIN.napi.binaryName}.${PLATFORM}.node`
  const built = path.join(REPO, binaryName)
  if (!fs.existsSync(built)) throw new Error(`${built} is missing: run \`npm run build\` first`)
  const env = npmEnv(workDir)
  const destination = path.join(workDir, "packed")
  const stage = path.join(workDir, "stage", PLATFORM)
  fs.mkdirSync(destination, { recursive: true })
  fs.cpSync(path.join(REPO, "npm", PLATFORM), stage, { recursive: true })
  fs.copyFileSync(built, path.join(stage, binaryName))
  const main = await pack(REPO, destination, env)
  const platform = await pack(stage, destination, env)
  return { main, platform }
}

/**
 * Both packed packages again as `version`, with the optional dependencies at that version too:
 * what publishing the next release would put in the registry.
 */
export async function repackAs(packed, version, workDir) {
  const env = npmEnv(workDir)
  const repacked = {}
  for (const [key, info] of Object.entries(packed)) {
    const stage = path.join(workDir, "stage", `${key}-${version}`)
    fs.mkdirSync(stage, { recursive: true })
    await run("tar", ["-xzf", info.tarball, "-C", stage], { timeout: 60_000 })
    const manifestPath = path.join(stage, "package", "package.json")
    const manifest = JSON.parse(fs.readFileSync(manifestPath, "utf8"))
    manifest.version = version
    for (const name of Object.keys(manifest.optionalDependencies ?? {})) manifest.optionalDependencies[name] = version
    fs.writeFileSync(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`)
    repacked[key] = await pack(path.join(stage, "package"), path.join(workDir, "packed"), env)
  }
  return repacked
}

/** package.json of every per-platform package in npm/, by directory name. */
export function platformManifests() {
  const dirs = fs.readdirSync(path.join(REPO, "npm"))
  return Object.fromEntries(dirs.map((dir) => [dir, JSON.parse(fs.readFileSync(path.join(REPO, "npm", dir, "package.json"), "utf8"))]))
}

/**
 * What the local registry serves: both packed packages, and the other per-platform packages
 * as manifests without contents (npm must skip them on this host; fetching one fails).
 */
export function servedPackages(packed) {
  const others = Object.entries(platformManifests())
    .filter(([dir]) => dir !== PLATFORM)
    .map(([, manifest]) => ({ manifest }))
  return [{ tarball: packed.main.tarball }, { tarball: packed.platform.tarball }, ...others]
}
