// OpenCode stays usable with the package on every tested release, listed by
// name, by path to its directory and by path to its entry file: the server
// answers, the plugin is loaded once, the model is offered the same `session`
// tool everywhere, and a scripted turn calls it and ends with the model's
// follow-up. OPENCODE_VERSIONS picks releases: unset, those the end-to-end
// matrix runs on (the oldest, a middle one, the newest); "all" (what .ci/run
// sets); or a list such as 1.3.2,1.18.33.

import fs from "node:fs"
import os from "node:os"
import path from "node:path"
import { after, before, describe, test } from "node:test"
import { RELEASES } from "../../scripts/opencode-releases.mjs"
import { startMockModel } from "../e2e/mock-model.mjs"
import { NOT_ON_PLATFORM } from "../install/pack.mjs"
import { check, expectedTool, LISTINGS, preparePackage, runCase } from "./cases.mjs"

const verbose = process.env.E2E_VERBOSE === "1"
const log = verbose ? (line) => process.stderr.write(`${line}\n`) : undefined
const spec = process.env.OPENCODE_VERSIONS
const versions =
  spec === "all"
    ? RELEASES.map((release) => release.version)
    : spec
      ? spec.split(",").map((v) => v.trim())
      : RELEASES.filter((release) => release.e2e).map((release) => release.version)

describe("OpenCode stays usable", { timeout: 1_800_000, skip: NOT_ON_PLATFORM }, () => {
  let prepared
  let mock
  let expected

  before(async () => {
    const work = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "oc-versions-")))
    prepared = await preparePackage(work)
    mock = await startMockModel({ log })
    expected = await expectedTool(prepared)
  })

  after(async () => {
    await mock?.close()
    if (prepared && process.env.KEEP_E2E !== "1") fs.rmSync(prepared.work, { recursive: true, force: true })
  })

  for (const version of versions) {
    for (const listing of Object.keys(LISTINGS)) {
      test(`${version} ${LISTINGS[listing]}`, { timeout: 120_000 }, async () => {
        check(await runCase({ version, listing, prepared, mock, log }), expected)
      })
    }
  }
})
