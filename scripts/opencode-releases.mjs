// The OpenCode 1.x releases the package is tested on, and where their
// binaries come from. One list: the version tests, the e2e matrix of
// .ci/run and the README's version table all read it.
//
//   node scripts/opencode-releases.mjs            prints the list
//   node scripts/opencode-releases.mjs 1.3.2      fetches that release (if not cached), prints its binary
//   node scripts/opencode-releases.mjs --all      fetches every release in the list
//
// Each binary is the release's `opencode-linux-x64` package from the npm
// registry (the one `opencode-ai` installs on this platform), unpacked into
// $OPENCODE_CACHE_DIR/<version>/ (default: .cache/opencode/ in the repository).

import { execFileSync } from "node:child_process"
import fs from "node:fs"
import path from "node:path"
import { fileURLToPath } from "node:url"

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")

/**
 * Every 1.x release on the registry that has a linux-x64 binary and that a
 * user is likely to run (1.17.20 has none). `e2e` marks the releases the
 * whole end-to-end suite runs on: the oldest, one in the middle, the newest.
 */
export const RELEASES = [
  // Its prompts need `rg` on PATH; without it, it downloads ripgrep and fails offline.
  { version: "1.0.185", e2e: true, needsRipgrep: true },
  { version: "1.1.65" },
  { version: "1.2.27" },
  { version: "1.3.2", e2e: true },
  { version: "1.14.34" },
  { version: "1.15.13" },
  { version: "1.18.33", e2e: true },
]

export const NEWEST = RELEASES[RELEASES.length - 1].version

/**
 * Whether the release takes a plugin's options in its config (`"plugin":
 * [["name", {…}]]`, from 1.14 on); earlier ones find that entry invalid.
 */
export function takesPluginOptions(version) {
  const [major, minor] = version.split(".").map(Number)
  return major > 1 || (major === 1 && minor >= 14)
}

/** Whether the release's prompts need ripgrep on PATH. */
export function needsRipgrep(version) {
  return RELEASES.some((r) => r.version === version && r.needsRipgrep)
}

export function cacheDir() {
  return process.env.OPENCODE_CACHE_DIR || path.join(REPO_ROOT, ".cache", "opencode")
}

/** Where a release's binary is once fetched. */
export function binaryPath(version) {
  return path.join(cacheDir(), version, "package", "bin", "opencode")
}

/**
 * The binary of `version`, fetched from the registry first if it is not in
 * the cache. The newest release is also a dev dependency: when the installed
 * `opencode-ai` is that version, its binary is used as it is.
 * @param {string} version
 * @returns {string} the executable's absolute path
 */
export function ensureOpencode(version) {
  const installed = installedDevBinary(version)
  if (installed) return installed
  const bin = binaryPath(version)
  if (fs.existsSync(bin)) return bin
  const dir = path.dirname(path.dirname(path.dirname(bin)))
  const staging = `${dir}.partial-${process.pid}`
  fs.rmSync(staging, { recursive: true, force: true })
  fs.mkdirSync(staging, { recursive: true })
  try {
    const tarball = execFileSync(
      "npm",
      ["pack", `opencode-linux-x64@${version}`, "--pack-destination", staging, "--silent", "--no-audit", "--no-fund"],
      { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] },
    )
      .trim()
      .split("\n")
      .pop()
    execFileSync("tar", ["-xzf", path.join(staging, tarball), "-C", staging], { stdio: "inherit" })
    fs.rmSync(path.join(staging, tarball))
    fs.chmodSync(path.join(staging, "package", "bin", "opencode"), 0o755)
    // Renamed into place whole, so a cache entry is never half written.
    fs.rmSync(dir, { recursive: true, force: true })
    fs.renameSync(staging, dir)
  } finally {
    fs.rmSync(staging, { recursive: true, force: true })
  }
  return bin
}

/**
 * A directory holding `rg`, for releases marked `needsRipgrep`; null when
 * `rg` is on PATH already. Taken from Debian's package when apt is there,
 * else built with cargo; cached beside the binaries.
 */
export function ensureRipgrep() {
  if (onPath("rg")) return null
  const dir = path.join(cacheDir(), "ripgrep", "bin")
  if (fs.existsSync(path.join(dir, "rg"))) return dir
  const staging = `${path.dirname(dir)}.partial-${process.pid}`
  fs.rmSync(staging, { recursive: true, force: true })
  fs.mkdirSync(staging, { recursive: true })
  try {
    if (onPath("apt-get") && onPath("dpkg-deb")) {
      execFileSync("apt-get", ["download", "ripgrep"], { cwd: staging, stdio: ["ignore", "ignore", "inherit"] })
      const deb = fs.readdirSync(staging).find((name) => name.endsWith(".deb"))
      execFileSync("dpkg-deb", ["-x", path.join(staging, deb), path.join(staging, "deb")], { stdio: "inherit" })
      fs.mkdirSync(path.join(staging, "bin"))
      fs.renameSync(path.join(staging, "deb", "usr", "bin", "rg"), path.join(staging, "bin", "rg"))
    } else {
      execFileSync("cargo", ["install", "ripgrep", "--locked", "--root", staging], { stdio: "inherit" })
    }
    fs.rmSync(path.dirname(dir), { recursive: true, force: true })
    fs.renameSync(staging, path.dirname(dir))
  } finally {
    fs.rmSync(staging, { recursive: true, force: true })
  }
  return dir
}

function onPath(command) {
  return (process.env.PATH ?? "").split(path.delimiter).some((dir) => dir && fs.existsSync(path.join(dir, command)))
}

function installedDevBinary(version) {
  const pkgDir = path.join(REPO_ROOT, "node_modules", "opencode-linux-x64")
  try {
    const pkg = JSON.parse(fs.readFileSync(path.join(pkgDir, "package.json"), "utf8"))
    const bin = path.join(pkgDir, "bin", "opencode")
    return pkg.version === version && fs.existsSync(bin) ? bin : null
  } catch {
    return null
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const [arg] = process.argv.slice(2)
  if (!arg) {
    for (const { version, e2e } of RELEASES) console.log(e2e ? `${version}\te2e` : version)
  } else if (arg === "--all") {
    for (const { version } of RELEASES) console.log(`${version}\t${ensureOpencode(version)}`)
    console.log(`ripgrep\t${ensureRipgrep() ?? "on PATH"}`)
  } else if (RELEASES.some((r) => r.version === arg)) {
    console.log(ensureOpencode(arg))
  } else {
    console.error(`unknown release ${arg}; the tested ones are ${RELEASES.map((r) => r.version).join(", ")}`)
    process.exit(2)
  }
}
