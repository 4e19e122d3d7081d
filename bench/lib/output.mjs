// What every bench prints: a table for people, then one line of JSON
// (starting with `{"bench":`) that bench/run.mjs collects for BENCHMARKS.md.
//
// A result is { bench, title, command, rows, notes?, extra? }; a row is
//   { label, unit, ours, baseline?, ratio?, target?, met? }
// where `ours` and `baseline` are either a summary from stats.mjs
// ({ n, median, p95, p99, ... }) or { value }, and baseline may carry `label`.

import os from "node:os"
import { parseArgs } from "node:util"

/** Reads `--name value` options; `defaults` gives their names and types. */
export function options(defaults) {
  const spec = {}
  for (const [name, value] of Object.entries(defaults)) spec[name] = { type: typeof value === "boolean" ? "boolean" : "string" }
  const { values } = parseArgs({ options: spec, strict: true, allowPositionals: false })
  const out = { ...defaults }
  for (const [name, value] of Object.entries(values)) {
    const fallback = defaults[name]
    if (typeof fallback === "number") out[name] = Number(value)
    else if (Array.isArray(fallback)) out[name] = String(value).split(",").map(Number)
    else out[name] = value
  }
  return out
}

/** The 1-minute load average, to show how busy the machine was. */
export const load = () => Math.round(os.loadavg()[0] * 100) / 100

/** Prints the result as a table and as a JSON line. */
export function emit(result, { loadBefore } = {}) {
  const full = { ...result, load: { before: loadBefore ?? null, after: load() } }
  const lines = [[`${result.title}`, "ours (median · p95 · p99)", "baseline", "ratio", "target", "met"]]
  for (const row of result.rows) {
    const cells = rowCells(row)
    lines.push([cells.measure, cells.ours, cells.baseline, cells.ratio, cells.target, cells.met])
  }
  const widths = lines[0].map((_, i) => Math.max(...lines.map((line) => line[i].length)))
  for (const [n, line] of lines.entries()) {
    console.log(
      line
        .map((cell, i) => cell.padEnd(widths[i]))
        .join("  ")
        .trimEnd(),
    )
    if (n === 0) console.log(widths.map((w) => "-".repeat(w)).join("  "))
  }
  for (const note of result.notes ?? []) console.log(`  ${note}`)
  console.log(JSON.stringify(full))
  return full
}

/** The printable cells of a row, shared by the console table and BENCHMARKS.md. */
export function rowCells(row) {
  return {
    measure: row.label,
    ours: figure(row.ours, row.unit),
    baseline: row.baseline ? figure(row.baseline, row.unit) : "–",
    baselineLabel: row.baseline?.label ?? "",
    ratio: row.ratio == null ? "–" : `${number(row.ratio)}×`,
    target: row.target ?? "–",
    met: row.met == null ? "–" : row.met ? "yes" : "**no**",
  }
}

/** `median · p95 · p99 unit` of a summary (p99 only from 100 samples on), or a single value. */
export function figure(summary, unit) {
  if (!summary) return "–"
  if (summary.value !== undefined) return `${number(summary.value)} ${unit}`
  if (!summary.n) return "no samples"
  const p99 = summary.n >= 100 ? number(summary.p99) : "–"
  return `${number(summary.median)} · ${number(summary.p95)} · ${p99} ${unit} (n=${summary.n})`
}

/** Three significant digits, thousands grouped. */
export function number(value) {
  if (!Number.isFinite(value)) return String(value)
  const magnitude = Math.abs(value)
  if (magnitude > 0 && magnitude < 1) return String(Number(value.toPrecision(3)))
  const digits = magnitude >= 100 ? 0 : magnitude >= 10 ? 1 : 2
  return value.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits })
}
