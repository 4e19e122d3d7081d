// Lists the per-platform packages (npm/*) as optional dependencies of the main
// package, at its version, the way `napi pre-publish` does. `npm version` runs
// it after `napi version` (and then rebuilds the loader, which checks the
// version), so the committed package.json is what gets published and
// `napi pre-publish` in the release workflow changes nothing.

import fs from "node:fs"
import path from "node:path"
import { fileURLToPath } from "node:url"
import { readNapiConfig } from "@napi-rs/cli"

const packageJsonPath = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "package.json")
const { packageJson, packageName, targets } = await readNapiConfig(packageJsonPath)
packageJson.optionalDependencies = Object.fromEntries(
  targets.map((target) => [`${packageName}-${target.platformArchABI}`, packageJson.version]),
)
fs.writeFileSync(packageJsonPath, `${JSON.stringify(packageJson, null, 2)}\n`)
