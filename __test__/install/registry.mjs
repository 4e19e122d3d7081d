// A minimal npm registry on 127.0.0.1 for install tests. Node built-ins only.
//
//   const registry = await startRegistry({ upstream, packages: [{ tarball: "/tmp/x-1.0.0.tgz" }, { manifest }] })
//   registry.url       -> "http://127.0.0.1:PORT/"   (use as npm_config_registry)
//   registry.requests  -> [{ method, path, status, source, name?, kind? }]
//                         source "local" (with the package name and kind "packument" | "tarball")
//                         or "upstream"
//   registry.publish({ tarball })   // one more version, tagged latest
//   await registry.close()
//
// Local packages are served with the versions given, the last one tagged latest:
//   { tarball }   a packed .tgz; its manifest is read from package/package.json inside it
//   { manifest }  a manifest without contents: its packument is served, its tarball answers 404
//                 (for optional packages a test expects npm to skip)
// `withhold` names answer 404 for their packument, as an unpublished package does.
// Every other request is passed to `upstream` unchanged, so dependencies come from the real
// registry. npm rewrites registry.npmjs.org tarball URLs to the configured registry
// (replace-registry-host), so those tarballs come through here as well.

import crypto from "node:crypto"
import fs from "node:fs"
import http from "node:http"
import https from "node:https"
import zlib from "node:zlib"

const UPSTREAM_TIMEOUT_MS = 60_000
const FORWARDED_REQUEST_HEADERS = ["accept", "accept-encoding", "user-agent", "if-none-match", "if-modified-since", "npm-command"]
const DROPPED_RESPONSE_HEADERS = new Set(["connection", "keep-alive", "transfer-encoding", "set-cookie"])

/** The package/package.json of an npm tarball (.tgz): gunzip, then walk the ustar headers. */
export function manifestOfTarball(tgz) {
  const tar = zlib.gunzipSync(tgz)
  for (let at = 0; at + 512 <= tar.length; ) {
    const header = tar.subarray(at, at + 512)
    if (header.every((byte) => byte === 0)) break
    const field = (start, length) =>
      header
        .subarray(start, start + length)
        .toString("utf8")
        .replace(/\0[\s\S]*$/, "")
    const prefix = field(345, 155)
    const name = prefix ? `${prefix}/${field(0, 100)}` : field(0, 100)
    const size = Number.parseInt(field(124, 12).trim() || "0", 8)
    const body = at + 512
    if (name === "package/package.json") return JSON.parse(tar.subarray(body, body + size).toString("utf8"))
    at = body + Math.ceil(size / 512) * 512
  }
  throw new Error("package/package.json not found in tarball")
}

function tarballFileName(name, version) {
  return `${name.split("/").pop()}-${version}.tgz`
}

/**
 * @param {object} o
 * @param {string} o.upstream                 base URL of the registry everything else comes from
 * @param {Array<{tarball?: string, manifest?: object}>} o.packages
 * @param {string[]} [o.withhold]             package names answered with 404
 * @param {(line: string) => void} [o.log]
 */
export async function startRegistry({ upstream, packages, withhold = [], log }) {
  const say = typeof log === "function" ? log : () => {}
  const upstreamBase = new URL(upstream.endsWith("/") ? upstream : `${upstream}/`)
  const withheld = new Set(withhold)
  const local = new Map() // name -> { latest: version, versions: Map<version, { manifest, data?: Buffer }> }

  /** Adds a version of a package; it becomes the package's latest. */
  function publish(pkg) {
    const data = pkg.tarball ? fs.readFileSync(pkg.tarball) : undefined
    const manifest = data ? manifestOfTarball(data) : pkg.manifest
    if (!manifest?.name || !manifest?.version) throw new Error("registry: every package needs a name and a version")
    const entry = local.get(manifest.name) ?? { latest: manifest.version, versions: new Map() }
    entry.versions.set(manifest.version, { manifest, data })
    entry.latest = manifest.version
    local.set(manifest.name, entry)
  }
  for (const pkg of packages) publish(pkg)

  const requests = []
  const sockets = new Set()
  let base = ""

  function packument(name) {
    const { latest, versions } = local.get(name)
    const packument = { _id: name, name, "dist-tags": { latest }, versions: {}, time: { modified: new Date(0).toISOString() } }
    for (const [version, { manifest, data }] of versions) {
      const dist = { tarball: `${base}${name}/-/${tarballFileName(name, version)}` }
      if (data) {
        dist.integrity = `sha512-${crypto.createHash("sha512").update(data).digest("base64")}`
        dist.shasum = crypto.createHash("sha1").update(data).digest("hex")
      }
      packument.versions[version] = { ...manifest, _id: `${name}@${version}`, dist }
      packument.time[version] = new Date(0).toISOString()
    }
    return packument
  }

  /** The local answer for `path`, or null when the request belongs upstream. */
  function localAnswer(path) {
    const notFound = (name, kind) => ({ name, kind, status: 404, body: { error: "Not found" } })
    const name = decodeURIComponent(path.slice(1))
    if (withheld.has(name)) return notFound(name, "packument")
    if (local.has(name)) return { name, kind: "packument", status: 200, body: packument(name) }
    const tarball = /^\/(.+)\/-\/([^/]+)$/.exec(path)
    if (!tarball) return null
    const tarName = decodeURIComponent(tarball[1])
    if (withheld.has(tarName)) return notFound(tarName, "tarball")
    const versions = [...(local.get(tarName)?.versions.entries() ?? [])]
    const [, entry] = versions.find(([version]) => tarball[2] === tarballFileName(tarName, version)) ?? []
    if (!entry) return null
    return entry.data ? { name: tarName, kind: "tarball", status: 200, data: entry.data } : notFound(tarName, "tarball")
  }

  function proxy(req, res, record) {
    const target = new URL(req.url.replace(/^\/+/, ""), upstreamBase)
    const headers = { host: target.host }
    for (const key of FORWARDED_REQUEST_HEADERS) if (req.headers[key]) headers[key] = req.headers[key]
    const client = target.protocol === "https:" ? https : http
    const upstreamReq = client.request(target, { method: req.method, headers, timeout: UPSTREAM_TIMEOUT_MS }, (upstreamRes) => {
      record.status = upstreamRes.statusCode
      const out = {}
      for (const [key, value] of Object.entries(upstreamRes.headers)) if (!DROPPED_RESPONSE_HEADERS.has(key)) out[key] = value
      res.writeHead(upstreamRes.statusCode ?? 502, out)
      upstreamRes.pipe(res)
    })
    upstreamReq.on("timeout", () => upstreamReq.destroy(new Error(`no answer within ${UPSTREAM_TIMEOUT_MS} ms`)))
    upstreamReq.on("error", (err) => {
      record.status = 502
      say(`registry: upstream ${target.href} failed: ${err.message}`)
      if (res.headersSent) res.destroy(err)
      else {
        res.writeHead(502, { "content-type": "application/json" })
        res.end(JSON.stringify({ error: `upstream ${target.href}: ${err.message}` }))
      }
    })
    upstreamReq.end()
  }

  const server = http.createServer((req, res) => {
    const path = new URL(req.url, "http://127.0.0.1").pathname
    const record = { method: req.method, path, status: 0, source: "local", at: Date.now() }
    requests.push(record)
    if (req.method !== "GET" && req.method !== "HEAD") {
      record.status = 405
      res.writeHead(405, { "content-type": "application/json" })
      res.end(JSON.stringify({ error: "this registry is read-only" }))
      return
    }
    const answer = localAnswer(path)
    if (!answer) {
      record.source = "upstream"
      proxy(req, res, record)
      return
    }
    record.status = answer.status
    record.name = answer.name
    record.kind = answer.kind
    say(`registry: ${req.method} ${path} -> ${answer.status} (local)`)
    if (answer.data) {
      res.writeHead(answer.status, { "content-type": "application/octet-stream", "content-length": answer.data.length })
      res.end(req.method === "HEAD" ? undefined : answer.data)
    } else {
      const body = JSON.stringify(answer.body)
      res.writeHead(answer.status, { "content-type": "application/json", "content-length": Buffer.byteLength(body) })
      res.end(req.method === "HEAD" ? undefined : body)
    }
  })
  server.on("connection", (socket) => {
    sockets.add(socket)
    socket.on("close", () => sockets.delete(socket))
  })
  await new Promise((resolve, reject) => {
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      server.off("error", reject)
      resolve()
    })
  })
  base = `http://127.0.0.1:${server.address().port}/`
  say(`registry: listening on ${base}, upstream ${upstreamBase.href}`)

  let closed = false
  return {
    url: base,
    requests,
    publish,
    /** Requests answered locally for package `name` (optionally only of one kind). */
    localRequests(name, kind) {
      return requests.filter((r) => r.source === "local" && r.name === name && (kind === undefined || r.kind === kind))
    },
    async close() {
      if (closed) return
      closed = true
      const done = new Promise((resolve) => server.close(() => resolve()))
      for (const socket of sockets) socket.destroy()
      await done
    },
  }
}
