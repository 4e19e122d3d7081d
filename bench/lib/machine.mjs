// The machine and toolchain a bench run happened on, for BENCHMARKS.md.

import { spawnSync } from "node:child_process"
import fs from "node:fs"
import os from "node:os"
import { resolveOpencodeBin } from "../../__test__/e2e/opencode.mjs"
import { REPO } from "./opencode.mjs"

function output(command, args, env = {}) {
  const run = spawnSync(command, args, { cwd: REPO, encoding: "utf8", timeout: 30_000, env: { ...process.env, ...env } })
  return run.status === 0 ? run.stdout.trim() : null
}

export function machineFacts() {
  const opencode = resolveOpencodeBin()
  const cpus = os.cpus()
  const dirty = output("git", ["status", "--porcelain", "--untracked-files=no"])
  return {
    date: new Date().toISOString(),
    cpu: [cpus[0]?.model ?? "unknown", cpuDetail()].filter(Boolean).join(", "),
    cores: cpus.length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    bun: output(opencode, ["-e", "console.log(Bun.version)"], { BUN_BE_BUN: "1" }),
    opencode: output(opencode, ["--version"]),
    rustc: output("rustc", ["--version"]),
    commit: `${output("git", ["rev-parse", "--short", "HEAD"]) ?? "unknown"}${dirty ? " (with uncommitted changes)" : ""}`,
    loadAverage: os.loadavg().map((l) => Math.round(l * 100) / 100),
  }
}

/** Family, model and clock from /proc/cpuinfo, where there is one: virtual machines often name the CPU vaguely. */
function cpuDetail() {
  let info = ""
  try {
    info = fs.readFileSync("/proc/cpuinfo", "utf8")
  } catch {
    return null
  }
  const field = (name) => new RegExp(`^${name}\\s*:\\s*(.+)$`, "m").exec(info)?.[1]?.trim()
  const family = field("cpu family")
  const model = field("model")
  const mhz = field("cpu MHz")
  const hypervisor = /^flags\s*:.*\bhypervisor\b/m.test(info) ? "virtual machine" : null
  return [family && `family ${family} model ${model}`, mhz && `${Math.round(Number(mhz))} MHz`, hypervisor].filter(Boolean).join(", ")
}
