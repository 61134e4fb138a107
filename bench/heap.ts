/**
 * npm run bench:heap [-- --streams N]
 *
 * What one open stream holds on the heap, by kind, for the three servers of
 * scenario 3 (raw node:http, the Effect floor, agentapp): each server takes a
 * heap snapshot (V8 collects the garbage first) after a warm-up of 200
 * streams that have ended, and another once N more streams (1,000 by default)
 * are open and have their first frame; the difference over N is one stream.
 * It shows where agentapp's memory per stream goes beyond the floor's
 * (bench/RESULTS.md, §3), which RSS alone cannot.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import * as http from "node:http"
import * as os from "node:os"
import * as path from "node:path"
import { parseArgs } from "node:util"
import { type HeapSnapshot, inventory, type Inventory, lessRows, perStream, type PerStream } from "./heapSnapshot.ts"
import { root, round, type Server, startServer } from "./lib.ts"

const usage = "usage: npm run bench:heap [-- --streams N]   (N open streams per server, 1000 by default)"
const streams = (() => {
  try {
    const { values } = parseArgs({ options: { streams: { type: "string" } }, strict: true, allowPositionals: false })
    const n = Number(values.streams ?? 1000)
    if (!Number.isInteger(n) || n < 100) throw new Error(`--streams takes a whole number of at least 100, not "${values.streams}"`)
    return n
  } catch (error) {
    console.error(`bench:heap: ${(error as Error).message}\n\n${usage}`)
    process.exit(2)
  }
})()

/** The streams of scenario 3: a frame a second, for longer than the measurement. */
const env = { FRAMES: "1000", INTERVAL_MS: "1000" }
const servers = [
  { name: "raw", script: "bench/servers/raw.ts", env: { MODE: "ticks", ...env } },
  { name: "effect_floor", script: "bench/servers/effect-ticks.ts", env },
  { name: "agentapp", script: "bench/servers/agent.ts", env }
] as const

const agent = new http.Agent({ keepAlive: false, maxSockets: Number.POSITIVE_INFINITY })

/**
 * Opens `n` streams (250 at a time), resolved once each has its first bytes;
 * gives their requests. Fails when a batch is not open within a minute.
 */
async function openStreams(server: Server, n: number): Promise<Array<http.ClientRequest>> {
  const open: Array<http.ClientRequest> = []
  for (let done = 0; done < n; done += 250) {
    let timer: NodeJS.Timeout | undefined
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${server.url}: streams not open after 60 s`)), 60_000)
    })
    await Promise.race([late, Promise.all(Array.from({ length: Math.min(250, n - done) }, () =>
      new Promise<void>((resolve, reject) => {
        const request = http.request(`${server.url}/process`, {
          method: "POST",
          agent,
          headers: { "content-type": "application/json" }
        }, (response) => response.once("data", () => resolve()))
        request.on("error", reject)
        request.end(JSON.stringify({ input: [] }))
        open.push(request)
      })))]).finally(() => clearTimeout(timer))
  }
  return open
}

/** Has the server write a heap snapshot (`--heapsnapshot-signal`), and reads it once written. */
async function snapshot(server: Server, dir: string): Promise<Inventory> {
  const before = new Set(readdirSync(dir))
  process.kill(server.pid, "SIGUSR2")
  const deadline = Date.now() + 120_000
  let file: string | undefined
  while (file === undefined) {
    if (Date.now() > deadline) throw new Error(`${server.url}: no heap snapshot after 120 s`)
    await new Promise((resolve) => setTimeout(resolve, 50))
    file = readdirSync(dir).find((name) => name.endsWith(".heapsnapshot") && !before.has(name))
  }
  // the snapshot is written on the server's main thread: once it answers again, the file is whole
  await new Promise<void>((resolve, reject) =>
    http.get(`${server.url}/readiness`, { agent }, (response) => response.resume().on("end", resolve)).on("error", reject)
  )
  const parsed = JSON.parse(readFileSync(path.join(dir, file), "utf8")) as HeapSnapshot
  rmSync(path.join(dir, file))
  return inventory(parsed, root)
}

async function measure(spec: (typeof servers)[number]): Promise<PerStream> {
  const dir = mkdtempSync(path.join(os.tmpdir(), "agentapp-heap-"))
  const server = await startServer(spec.script, spec.env, {
    nodeFlags: ["--heapsnapshot-signal=SIGUSR2", `--diagnostic-dir=${dir}`]
  })
  try {
    // a warm-up, so that what the first streams build once (code, caches) is in both snapshots
    for (const request of await openStreams(server, 200)) request.destroy()
    await new Promise((resolve) => setTimeout(resolve, 500))
    const before = await snapshot(server, dir)
    const open = await openStreams(server, streams)
    const after = await snapshot(server, dir)
    for (const request of open) request.destroy()
    return perStream(before, after, streams)
  } finally {
    await server.stop()
    rmSync(dir, { recursive: true, force: true })
  }
}

const table = (rows: ReadonlyArray<readonly [string, number, number]>, top: number) =>
  rows.slice(0, top).map(([key, bytes, count]) => ({ kind: key, bytes: round(bytes, 0), count: round(count, 2) }))

const results: Record<string, PerStream> = {}
for (const spec of servers) {
  results[spec.name] = await measure(spec)
  console.log(`${spec.name}: ${round(results[spec.name].bytes, 0)} bytes of heap per open stream`)
}

/** agentapp less the floor, by kind: what agentapp adds to Effect's own streaming. */
const added = lessRows(results.agentapp.kinds, results.effect_floor.kinds)

const report = {
  streams,
  heap_bytes_per_stream: Object.fromEntries(Object.entries(results).map(([name, r]) => [name, round(r.bytes, 0)])),
  agentapp_above_floor: round(results.agentapp.bytes - results.effect_floor.bytes, 0),
  agentapp_above_floor_by_kind: table(added, 20),
  agentapp_by_kind: table(results.agentapp.kinds, 20),
  agentapp_closures_by_file: table(results.agentapp.closuresByFile, 20),
  effect_floor_by_kind: table(results.effect_floor.kinds, 12),
  effect_floor_closures_by_file: table(results.effect_floor.closuresByFile, 12),
  raw_by_kind: table(results.raw.kinds, 12)
}
const print = (title: string, rows: ReadonlyArray<{ kind: string; bytes: number; count: number }>) => {
  console.log(`\n${title}\n   bytes   count  kind`)
  for (const row of rows) console.log(`${String(row.bytes).padStart(8)}${row.count.toFixed(2).padStart(8)}  ${row.kind}`)
}
console.log(`\nagentapp above the Effect floor: ${report.agentapp_above_floor} bytes per stream`)
print("agentapp less the floor, by kind (per stream)", report.agentapp_above_floor_by_kind)
print("agentapp's closures by file (per stream)", report.agentapp_closures_by_file)
print("the floor's closures by file (per stream)", report.effect_floor_closures_by_file)
writeFileSync(path.join(root, "bench", "heap-results.json"), JSON.stringify(report, null, 2) + "\n")
console.log("\nwritten to bench/heap-results.json (with each server's kinds)")
