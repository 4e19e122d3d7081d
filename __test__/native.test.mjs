import assert from "node:assert/strict"
import fs from "node:fs"
import path from "node:path"
import { test } from "node:test"
import { fileURLToPath } from "node:url"
import { describeLoadFailure, hostPlatform } from "../lib/native.js"

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")
const manifest = {
  name: "opencode-sessions",
  version: "1.2.3",
  optionalDependencies: {
    "opencode-sessions-linux-x64-gnu": "1.2.3",
    "opencode-sessions-darwin-arm64": "1.2.3",
    "some-other-package": "1.0.0",
  },
}
const linuxGnu = { os: "linux", cpu: "x64", libc: "glibc 2.36", key: "linux-x64-gnu" }
const TROUBLESHOOTING = "See https://github.com/opencode-sessions/opencode-sessions#troubleshooting"
const REINSTALL =
  "To fix it in OpenCode, delete the folder ~/.cache/opencode/packages/opencode-sessions@latest " +
  "(opencode-sessions@<version> if you pinned a version) and restart OpenCode, which installs the plugin again. " +
  "In an npm project, reinstall opencode-sessions without --omit=optional."

/** What the generated loader throws: a summary whose cause chains what each attempt reported. */
function loaderError(...messages) {
  const chain = messages.reduce((previous, message) => Object.assign(new Error(message), { cause: previous }), null)
  return Object.assign(new Error("Cannot find native binding. npm has a bug related to optional dependencies"), { cause: chain })
}

test("a platform without a build: the platform and the supported ones", () => {
  const host = { os: "linux", cpu: "arm64", libc: "musl", key: "linux-arm64-musl" }
  assert.equal(
    describeLoadFailure({ manifest, host, installed: null, cause: loaderError("Cannot find module 'opencode-sessions-linux-arm64-musl'") }),
    [
      "opencode-sessions 1.2.3 could not load its native engine on linux arm64 musl (linux-arm64-musl): there is no build for this platform.",
      "Supported platforms: linux-x64-gnu, darwin-arm64.",
      TROUBLESHOOTING,
    ].join("\n"),
  )
})

test("a supported platform whose package is missing: the package and how to reinstall", () => {
  assert.equal(
    describeLoadFailure({
      manifest,
      host: linuxGnu,
      installed: null,
      cause: loaderError("Cannot find module 'opencode-sessions-linux-x64-gnu'"),
    }),
    [
      "opencode-sessions 1.2.3 could not load its native engine on linux x64 glibc 2.36 (linux-x64-gnu): its package opencode-sessions-linux-x64-gnu is not installed.",
      "npm installs it along with opencode-sessions as an optional dependency; it is missing when optional dependencies were left out or the installed files were copied from another platform.",
      REINSTALL,
      TROUBLESHOOTING,
    ].join("\n"),
  )
})

test("an installed package that does not load: the loader's reasons, without the places it found empty", () => {
  const cause = loaderError(
    "Cannot find module './opencode-sessions.linux-x64-gnu.node'\nRequire stack:\n- /x/index.js",
    "/x/opencode-sessions.linux-x64-gnu.node: file too short",
    "Cannot find module './opencode-sessions.wasi.cjs'",
  )
  assert.equal(
    describeLoadFailure({ manifest, host: linuxGnu, installed: "1.2.0", cause }),
    [
      "opencode-sessions 1.2.3 could not load its native engine on linux x64 glibc 2.36 (linux-x64-gnu) from opencode-sessions-linux-x64-gnu@1.2.0: /x/opencode-sessions.linux-x64-gnu.node: file too short.",
      REINSTALL,
      TROUBLESHOOTING,
    ].join("\n"),
  )
})

test("an error without a chain is quoted as it is", () => {
  const message = describeLoadFailure({ manifest, host: linuxGnu, installed: "1.2.3", cause: new SyntaxError("Unexpected token") })
  assert.match(message.split("\n")[0], /opencode-sessions-linux-x64-gnu@1\.2\.3: Unexpected token\.$/)
})

test("the platform key of this host names the binary napi build made for it", () => {
  const { key } = hostPlatform()
  const built = fs.readdirSync(REPO).filter((file) => /^opencode-sessions\..+\.node$/.test(file))
  assert.deepEqual(built, [`opencode-sessions.${key}.node`])
})
