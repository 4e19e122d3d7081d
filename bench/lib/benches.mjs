// Every bench, in the order of BENCHMARKS.md, with the command that runs it alone.

export const BENCHES = [
  { name: "tool-return", command: ["node", "bench/tool-return.mjs"] },
  { name: "forks", command: ["node", "bench/forks.mjs"] },
  { name: "dispatch", command: ["node", "bench/dispatch.mjs"] },
  { name: "event-hook", command: ["node", "bench/event-hook.mjs"] },
  { name: "cold-load", command: ["node", "bench/cold-load.mjs"] },
  { name: "tool-size", command: ["node", "bench/tool-size.mjs"] },
  { name: "engine-scale", command: ["cargo", "bench", "--quiet", "-p", "opencode-sessions-engine", "--bench", "scale"] },
]
