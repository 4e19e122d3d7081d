// Summaries of timing samples. Percentiles interpolate linearly between the
// two nearest ranks, so the median of an even count is the mean of the middle pair.

/** @param {number[]} samples */
export function summarize(samples) {
  const sorted = samples.filter(Number.isFinite).sort((a, b) => a - b)
  const n = sorted.length
  if (n === 0) return { n: 0 }
  return {
    n,
    median: ranked(sorted, 0.5),
    p95: ranked(sorted, 0.95),
    p99: ranked(sorted, 0.99),
    min: sorted[0],
    max: sorted[n - 1],
  }
}

/** The `q` quantile (0..1) of a list of numbers. */
export const quantile = (values, q) =>
  ranked(
    [...values].sort((a, b) => a - b),
    q,
  )

function ranked(sorted, q) {
  const at = (sorted.length - 1) * q
  const low = Math.floor(at)
  const high = Math.ceil(at)
  return sorted[low] + (sorted[high] - sorted[low]) * (at - low)
}

/** Median of a list of numbers. */
export const median = (values) => summarize(values).median

/** The ratio of two numbers, or null when the denominator is missing or zero. */
export function ratio(ours, baseline) {
  if (!Number.isFinite(ours) || !Number.isFinite(baseline) || baseline === 0) return null
  return ours / baseline
}
