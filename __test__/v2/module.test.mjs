// The package's `./server` entry (server.js) under OpenCode 2's module
// contract, as modelled from packages/core/src/plugin/module.ts @07db2b92 in
// fake-opencode-2.mjs, and under OpenCode 1.14+'s reading of the same object.

import assert from "node:assert/strict"
import { describe, test } from "node:test"
import { setup } from "../../lib/hosts/opencode-v2.js"
import { createPlugin } from "../../lib/plugin.js"
import * as serverModule from "../../server.js"
import { decodeDefinition, LOAD_ERROR } from "./fake-opencode-2.mjs"

describe("server.js under OpenCode 2's module contract", () => {
  test("its default is a plain object that decodes as {id, setup}, with no effect", () => {
    const value = serverModule.default
    assert.equal(Object.getPrototypeOf(value), Object.prototype)
    assert.ok(!("effect" in value), "an `effect` key would be tried first")
    const decoded = decodeDefinition(serverModule)
    assert.deepEqual(Object.keys(decoded), ["id", "setup"])
    assert.equal(decoded.id, "opencode-sessions")
    assert.equal(decoded.setup, setup)
  })

  test("OpenCode 1.14+ reads `server` of the same object, and no `tui`", () => {
    assert.equal(serverModule.default.server, createPlugin)
    assert.ok(!("tui" in serverModule.default), "`server` and `tui` together are refused")
  })

  test("setup works detached from the object, as OpenCode 2 calls it on its decoded copy", async () => {
    const { setup: detached } = decodeDefinition(serverModule)
    assert.equal(await detached({ options: {} }), undefined)
  })

  test("the decoder model refuses what OpenCode 2 refuses", () => {
    const fn = Object.assign(() => {}, { id: "x", setup: () => {} })
    assert.throws(() => decodeDefinition({ default: fn }), { message: LOAD_ERROR })
    assert.throws(() => decodeDefinition({ default: { id: "x", server: () => {} } }), { message: LOAD_ERROR })
    assert.throws(() => decodeDefinition({ default: { id: 1, setup: () => {} } }), { message: LOAD_ERROR })
    assert.throws(() => decodeDefinition({ setup: () => {}, id: "x" }), { message: LOAD_ERROR })
    const effect = () => {}
    assert.deepEqual(decodeDefinition({ default: { id: "x", effect, setup: () => {} } }), { id: "x", effect })
  })
})
