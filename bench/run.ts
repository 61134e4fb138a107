/**
 * npm run bench [-- --quick] [-- --only 1,5]   (`-- --help` lists the scenarios)
 *
 * Every scenario runs its baseline in the same run and reports ratios. The
 * server under test is pinned to core 0 and this load generator to core 1
 * when taskset exists (it re-runs itself under taskset). Every server, the
 * baselines as much as agentapp, runs with the V8 flags the README advises
 * (bench/lib.ts `serverFlags`; `--default-gc` keeps V8's defaults).
 */
import { execFileSync, spawn } from "node:child_process"
import { writeFileSync } from "node:fs"
import * as http from "node:http"
import * as path from "node:path"
import { startRedisServer } from "../test/support/redis.ts"
import { parseBenchArgs, usage } from "./args.ts"
import {
  canNice,
  canPin,
  cpuMs,
  load,
  type Load,
  masked,
  mean,
  percentile,
  root,
  round,
  bundled,
  rssBytes,
  type Server,
  serverFlags,
  startServer,
  timesToReady
} from "./lib.ts"
import { longSession, rejectedBodies } from "./hardening.ts"
import { llmTokens } from "./llm.ts"
import { deployBench } from "./deploy.ts"
import { authBench } from "./auth.ts"
import { telemetryBench } from "./telemetry.ts"
import { baselinesBench } from "./baselines.ts"
import { eventLogBench } from "./eventLog.ts"
import { protocols } from "./protocols.ts"
import { taskQueueScenario } from "./taskQueue.ts"

const args = (() => {
  try {
    return parseBenchArgs(process.argv.slice(2))
  } catch (error) {
    console.error(`bench: ${(error as Error).message}\n\n${usage}`)
    process.exit(2)
  }
})()
if (args.help) {
  console.log(usage)
  process.exit(0)
}
const quick = args.quick
/**
 * Starts a server under test, with the GC the command line asked for; a
 * TypeScript one from its production bundle unless `sources` (scenario 6).
 */
const startUnderTest = async (
  script: string,
  env: Record<string, string> = {},
  options?: { readonly pin?: boolean; readonly command?: ReadonlyArray<string> | undefined; readonly sources?: boolean }
) => {
  const start = options?.sources !== true && options?.command === undefined && script.endsWith(".ts")
    ? await bundled(script)
    : { script, env: {} }
  return startServer(start.script, { ...start.env, ...env }, { ...options, defaultGc: args.defaultGc })
}
const only = args.only
const want = (scenario: number) => only === undefined || only.has(scenario)

if (canPin && process.env.BENCH_PINNED !== "1") {
  const child = spawn("taskset", ["-c", "1", process.execPath, ...process.execArgv, ...process.argv.slice(1)], {
    stdio: "inherit",
    env: { ...process.env, BENCH_PINNED: "1" }
  })
  child.on("exit", (code) => process.exit(code ?? 1))
} else {
  await main()
}

async function main() {
  const results: Record<string, unknown> = {
    quick,
    pinned: canPin,
    pinned_server_flags: serverFlags({ pinned: canPin, defaultGc: args.defaultGc }),
    node: process.version,
    date: new Date().toISOString()
  }
  // each scenario's duration: the time since the previous one was logged
  let since = performance.now()
  const log = (name: string, value: unknown) => {
    results[name] = value
    const seconds = Math.round((performance.now() - since) / 1000)
    since = performance.now()
    console.log(`\n## ${name} (${seconds} s)\n${JSON.stringify(value, null, 2)}`)
  }
  const friday = JSON.stringify({ input: [{ role: "user", content: [{ type: "text", text: "Hello Friday" }] }] })

  // 1. /process throughput: Friday (no delay) against raw node:http writing the same bytes, two ways:
  // computing Friday's reply per request by hand (the target's baseline), and replaying one reply's bytes
  if (want(1)) {
    const agent = await startUnderTest("examples/main.ts", { FRIDAY_DELAY_MS: "0" })
    const post = (url: string) =>
      fetch(`${url}/process`, { method: "POST", headers: { "content-type": "application/json" }, body: friday })
    const sample = Buffer.from(await (await post(agent.url)).arrayBuffer())
    const replay = path.join(root, "bench", ".replay.bin")
    writeFileSync(replay, sample)
    const raw = await startUnderTest("bench/servers/raw-friday.ts")
    const rawSample = Buffer.from(await (await post(raw.url)).arrayBuffer())
    if (masked(rawSample.toString()) !== masked(sample.toString())) {
      throw new Error("bench/servers/raw-friday.ts no longer writes the bytes agentapp writes: update it")
    }
    const replayed = await startUnderTest("bench/servers/raw.ts", { MODE: "replay", REPLAY_FILE: replay })
    const effect = await startUnderTest("bench/servers/effect-min.ts", { REPLAY_FILE: replay })
    const seconds = quick ? 1 : 3
    const out: Record<string, unknown> = { bytes_per_response: sample.length }
    for (const connections of quick ? [50] : [50, 200]) {
      // each server warmed up once at this many connections
      const warm = new Set<Server>()
      const run = async (server: Server) => {
        if (!warm.has(server)) await load(server, { path: "/process", body: friday, connections, seconds: 1 })
        warm.add(server)
        return load(server, { path: "/process", body: friday, connections, seconds })
      }
      // the two sides of the target ratio alternate (raw, agent, agent, raw), as runs of one server
      // vary by ±15% with the machine's state, and each reports its mean
      const rawRuns = [await run(raw)]
      const agentRuns = [await run(agent), await run(agent)]
      rawRuns.push(await run(raw))
      const r = meanLoad(rawRuns)
      const a = meanLoad(agentRuns)
      const p = await run(replayed)
      const e = await run(effect)
      out[`c${connections}`] = {
        raw_friday: { ...summary(r), runs_req_per_s: rawRuns.map((one) => round(one.rps, 0)) },
        raw_replay: summary(p),
        effect_minimal_replay: summary(e),
        agentapp: { ...summary(a), runs_req_per_s: agentRuns.map((one) => round(one.rps, 0)) },
        throughput_ratio: round(a.rps / r.rps, 3),
        cpu_per_request_ratio: round(a.cpuMsPerRequest / r.cpuMsPerRequest, 2),
        throughput_ratio_to_replay: round(a.rps / p.rps, 3),
        effect_minimal_ratio_to_replay: round(e.rps / p.rps, 3)
      }
    }
    await Promise.all([raw.stop(), replayed.stop(), effect.stop()])
    // the same app with its sessions, leases and stops on Redis (examples/distributed.ts, on a Redis
    // server of its own, unpinned): what distribution costs, against the memory agent, alternated
    const redis = await startRedisServer()
    try {
      const distributed = await startUnderTest("examples/distributed.ts", { FRIDAY_DELAY_MS: "0", REDIS_URL: redis.url })
      // a longer warm-up than the other servers': the memory agent has been loaded for a while already
      await load(distributed, { path: "/process", body: friday, connections: 50, seconds: quick ? 1 : 3 })
      const run = (server: Server) => load(server, { path: "/process", body: friday, connections: 50, seconds })
      const onRedis = [await run(distributed)]
      const inMemory = [await run(agent)]
      if (!quick) onRedis.push(await run(distributed))
      await distributed.stop()
      const d = meanLoad(onRedis)
      const m = meanLoad(inMemory)
      out.c50_redis = {
        agentapp_redis: { ...summary(d), runs_req_per_s: onRedis.map((one) => round(one.rps, 0)) },
        agentapp_memory: summary(m),
        redis_to_memory_throughput_ratio: round(d.rps / m.rps, 3)
      }
    } finally {
      await redis.stop()
    }
    log("1. /process throughput (Friday, no delay)", out)
    await agent.stop()
  }

  // 2. time to first byte, frames 10 ms apart
  if (want(2)) {
    const env = { FRAMES: "20", INTERVAL_MS: "10" }
    const raw = await startUnderTest("bench/servers/raw.ts", { MODE: "ticks", ...env })
    const agent = await startUnderTest("bench/servers/agent.ts", env)
    const n = quick ? 10 : 30
    const r = await ttfb(raw, n)
    const a = await ttfb(agent, n)
    log("2. time to first byte (20 frames, 10 ms apart)", {
      requests: n,
      raw_ms: r,
      agentapp_ms: a,
      p50_ratio: round(a.p50 / r.p50, 2),
      p99_ratio: round(a.p99 / r.p99, 2)
    })
    await Promise.all([raw.stop(), agent.stop()])
  }

  // 3. many long-lived streams, one frame per second each
  if (want(3)) {
    const streams = quick ? 300 : 2000
    // long enough that every stream is open well before the first one ends: 2,000 connections at
    // once overflow the listen backlog, and the SYNs that are dropped come back after 1, 3, 7 s…
    const frames = quick ? 2 : 10
    const env = { FRAMES: String(frames), INTERVAL_MS: "1000" }
    const raw = await startUnderTest("bench/servers/raw.ts", { MODE: "ticks", ...env })
    const r = await manyStreams(raw, streams, frames)
    await raw.stop()
    // the Effect floor: Effect's HTTP server streaming the same frames from a Stream, no agentapp
    const effect = await startUnderTest("bench/servers/effect-ticks.ts", env)
    const e = await manyStreams(effect, streams, frames)
    await effect.stop()
    const agent = await startUnderTest("bench/servers/agent.ts", env)
    const a = await manyStreams(agent, streams, frames)
    await agent.stop()
    log(`3. ${streams} concurrent streams, one frame per second`, {
      raw: r,
      effect_floor: e,
      agentapp: a,
      rss_per_stream_ratio: round(a.rss_kib_per_stream / r.rss_kib_per_stream, 2),
      cpu_per_frame_ratio: round(a.cpu_us_per_frame / r.cpu_us_per_frame, 2),
      effect_floor_rss_per_stream_ratio: round(e.rss_kib_per_stream / r.rss_kib_per_stream, 2),
      effect_floor_cpu_per_frame_ratio: round(e.cpu_us_per_frame / r.cpu_us_per_frame, 2)
    })
  }

  // 4. interrupt latency: POST /stop sent → response canceled received
  const redis = want(4) || want(5) ? await startRedisServer() : undefined
  if (redis) try {
    const n = quick ? 40 : 200
    const env = { MODE: "burst", FRAMES: "20", TRACE_STOPS: "1" }
    if (want(4)) {
    const local = await startUnderTest("bench/servers/agent.ts", env)
    const idleLocal = await interrupts(local, local, n)
    const busyLocal = await underLoad(local, () => interrupts(local, local, n))
    await local.stop()
    const [a, b] = await Promise.all([
      startUnderTest("bench/servers/agent.ts", { ...env, REDIS_URL: redis.url }),
      startUnderTest("bench/servers/agent.ts", { ...env, REDIS_URL: redis.url }, { pin: false })
    ])
    const idleCross = await interrupts(a, b, n)
    const busyCross = await underLoad(a, () => interrupts(a, b, n))
    await Promise.all([a.stop(), b.stop()])
    log("4. interrupt latency (ms): POST /stop sent → response canceled received", {
      stops: n,
      local_idle: idleLocal,
      local_under_load: busyLocal,
      across_nodes_idle: idleCross,
      across_nodes_under_load: busyCross
    })
    }

    // 5. task queue: the BullMQ layer against plain BullMQ
    if (want(5)) {
      log("5. task queue: BullMQ layer vs plain BullMQ", await taskQueueScenario(redis.url, quick ? 500 : 2000, quick ? 1 : 3))
    }
  } finally {
    await redis.stop()
  }

  // 6. startup: process start → /readiness 200; the production bundle (npm run build) and the sources
  if (want(6)) {
    const n = quick ? 3 : 7
    execFileSync("npm", ["run", "--silent", "build"], { cwd: root, stdio: "inherit" })
    const raw = await startups("bench/servers/raw.ts", { MODE: "ticks" }, n)
    const bundle = await startups("dist/main.mjs", {}, n)
    // as start:prod runs it: with the compile cache the build wrote
    const cached = await startups("dist/main.mjs", { NODE_COMPILE_CACHE: "dist/.node-compile-cache" }, n)
    const sources = await startups("examples/main.ts", {}, n)
    log("6. startup (ms): process start → /readiness 200", {
      runs: n,
      raw_node_http: raw,
      agentapp_friday_bundle: bundle,
      agentapp_friday_bundle_compile_cache: cached,
      agentapp_friday_sources: sources,
      bundle_ratio: round(bundle.p50 / raw.p50, 2),
      bundle_compile_cache_ratio: round(cached.p50 / raw.p50, 2)
    })
  }

  if (want(7)) log("7. the cost of rejecting bad bodies (1 MiB, one at a time)", await rejectedBodies(startUnderTest, quick))
  if (want(8)) log("8. a long session (history at its cap) against fresh ones", await longSession(startUnderTest, quick))
  if (want(9)) log("9. an agent on a model against a plain handler, CPU per streamed token", await llmTokens(startUnderTest, quick))
  if (want(10)) log("10. the protocol adapters against /process, CPU per request", await protocols(startUnderTest, quick))
  if (want(11)) log("11. the agentapp CLI: deploy local against the bundle's own start; --help CPU", await deployBench(quick))

  if (want(12)) log("12. the event log: /process CPU with it on and off (memory, Redis); one run to 1,000 followers", await eventLogBench(startUnderTest, quick))
  if (want(13)) log("13. auth: /process CPU with auth off, an API key, a JWT; Redis round trips per request of the rate limiter", await authBench(startUnderTest, quick))
  if (want(14)) log("14. tracing: /process CPU and throughput with OTLP export on and off", await telemetryBench(startUnderTest, quick))
  if (want(15)) log("15. against FastAPI (the original's stack), the Effect floor, Hono and raw node:http", await baselinesBench(startUnderTest, quick))

  writeFileSync(path.join(root, "bench", "results.json"), JSON.stringify(results, null, 2) + "\n")
  console.log("\nwritten to bench/results.json")
  process.exit(0)
}

/** The mean of runs of one server (each figure averaged, errors summed). */
function meanLoad(runs: ReadonlyArray<Load>): Load {
  const meanOf = (f: (one: Load) => number) => mean(runs.map(f))
  return {
    requests: meanOf((one) => one.requests),
    rps: meanOf((one) => one.rps),
    p50: meanOf((one) => one.p50),
    p99: meanOf((one) => one.p99),
    errors: runs.reduce((sum, one) => sum + one.errors, 0),
    timeouts: runs.reduce((sum, one) => sum + one.timeouts, 0),
    non2xx: runs.reduce((sum, one) => sum + one.non2xx, 0),
    cpuMsPerRequest: meanOf((one) => one.cpuMsPerRequest)
  }
}

function summary(result: Load) {
  return {
    req_per_s: round(result.rps, 0),
    p50_ms: result.p50,
    p99_ms: result.p99,
    cpu_ms_per_request: round(result.cpuMsPerRequest, 3),
    errors: result.errors + result.non2xx,
    // what the errors were, when there were any: replies that were not 2xx, requests that timed out,
    // and other socket errors (a connection reset, for instance)
    ...(result.errors + result.non2xx === 0 ? {} : {
      error_kinds: { non2xx: result.non2xx, timeouts: result.timeouts, socket: result.errors - result.timeouts }
    })
  }
}

/** An agent that opens as many sockets as asked, without keep-alive. */
function manySockets() {
  return new http.Agent({ keepAlive: false, maxSockets: Number.POSITIVE_INFINITY })
}

/** A request over `agent` (a POST when it has a body), resolved once the whole response has arrived. */
function send(url: string, agent: http.Agent, body?: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const request = http.request(url, {
      method: body === undefined ? "GET" : "POST",
      agent,
      headers: body === undefined
        ? {}
        : { "content-type": "application/json", "content-length": Buffer.byteLength(body) }
    }, (response) => {
      response.resume()
      response.on("end", () => resolve())
      response.on("error", reject)
    })
    request.on("error", reject)
    request.end(body)
  })
}

/** POSTs a request to /process and calls back on each chunk of the body. */
function stream(
  server: Server,
  body: unknown,
  onChunk: (text: string) => void,
  agent?: http.Agent
): Promise<void> {
  return new Promise((resolve, reject) => {
    const payload = JSON.stringify(body)
    const request = http.request(`${server.url}/process`, {
      method: "POST",
      headers: { "content-type": "application/json", "content-length": Buffer.byteLength(payload) },
      agent: agent ?? false
    }, (response) => {
      response.setEncoding("utf8")
      response.on("data", onChunk)
      response.on("end", () => resolve())
      response.on("error", reject)
    })
    request.on("error", reject)
    request.end(payload)
  })
}

async function ttfb(server: Server, n: number) {
  const times: Array<number> = []
  for (let i = 0; i < n; i++) {
    const start = performance.now()
    let first = 0
    await stream(server, { input: [] }, (text) => {
      if (first === 0 && text.includes("\"delta\":true")) first = performance.now() - start
    })
    times.push(first)
  }
  return { p50: round(percentile(times, 50)), p99: round(percentile(times, 99)) }
}

async function manyStreams(server: Server, count: number, frames: number) {
  const agent = manySockets()
  const rssBefore = rssBytes(server.pid)
  const gaps: Array<number> = []
  let opened = 0
  let allOpen: () => void
  const open = new Promise<void>((resolve) => (allOpen = resolve))
  let framesSeen = 0
  const done = Array.from({ length: count }, () => {
    let last = 0
    let counted = false
    return stream(server, { input: [] }, (text) => {
      const now = performance.now()
      const n = (text.match(/"delta":true/g) ?? []).length
      if (n === 0) return
      framesSeen += n
      if (last !== 0) gaps.push(now - last)
      last = now
      if (!counted) {
        counted = true
        if (++opened === count) allOpen()
      }
    }, agent)
  })
  // CPU per frame is taken while every stream is open and none has ended: the frames alone, not
  // the opening or the end of a run (scenario 1 measures those)
  let firstEnded: () => void
  const oneEnded = new Promise<void>((resolve) => (firstEnded = resolve))
  for (const each of done) void each.then(() => firstEnded())
  await open
  const rssOpen = rssBytes(server.pid)
  const cpuStart = cpuMs(server.pid)
  const framesStart = framesSeen
  await oneEnded
  const cpu = cpuMs(server.pid) - cpuStart
  const framesInWindow = framesSeen - framesStart
  await Promise.all(done)
  agent.destroy()
  return {
    streams: count,
    frames_per_stream: frames,
    rss_kib_per_stream: round((rssOpen - rssBefore) / 1024 / count, 1),
    cpu_us_per_frame: round((cpu * 1000) / framesInWindow, 1),
    frames_measured: framesInWindow,
    gap_p50_ms: round(percentile(gaps, 50), 1),
    gap_p99_ms: round(percentile(gaps, 99), 1)
  }
}

interface Trace {
  readonly stops: Array<number>
  readonly interrupted: Array<number>
  /** the garbage collector's pauses, [start, end] */
  readonly gc: Array<[number, number]>
}

/**
 * The stop trace of servers started with TRACE_STOPS=1 (bench/servers/agent.ts),
 * taken and cleared; `gc` holds the pauses of the first server only.
 */
async function traceOf(servers: ReadonlyArray<Server>): Promise<Trace> {
  const merged: Trace = { stops: [], interrupted: [], gc: [] }
  for (const server of new Set(servers)) {
    const trace = await (await fetch(`${server.url}/bench/trace`)).json() as Trace
    merged.stops.push(...trace.stops)
    merged.interrupted.push(...trace.interrupted)
    if (server === servers[0]) merged.gc.push(...trace.gc)
  }
  return merged
}

/** How long the pauses in `pauses` (sorted by start, not overlapping) overlap `[from, to]`. */
function pausedWithin(pauses: ReadonlyArray<[number, number]>, from: number, to: number) {
  let paused = 0
  for (const [start, end] of pauses) {
    if (start >= to) break
    paused += Math.max(0, Math.min(end, to) - Math.max(start, from))
  }
  return paused
}

/** Stops `n` streams (after `warmUp` stops that are not counted, as the load scenarios warm up too). */
async function interrupts(streamOn: Server, stopOn: Server, n: number, warmUp = 5) {
  // stops (and the baseline round trips) go over one kept-alive connection, as a client that
  // stops runs would keep one
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 })
  const times: Array<number> = []
  // epoch ms with sub-millisecond precision, comparable with the servers' trace on this machine
  const sentAt: Array<number> = []
  await traceOf([streamOn, stopOn]) // drops what earlier series left
  const canceledAt: Array<number> = []
  for (let i = -warmUp; i < n; i++) {
    const session = `bench-${i}-${crypto.randomUUID()}`
    let stopSent = 0
    let canceled = 0
    let started: () => void
    const running = new Promise<void>((resolve) => (started = resolve))
    const done = stream(streamOn, { input: [], mode: "endless", session_id: session }, (text) => {
      if (text.includes("\"delta\":true")) started()
      if (canceled === 0 && stopSent !== 0 && text.includes("\"status\":\"canceled\"") && text.includes("\"object\":\"response\"")) {
        canceled = performance.now()
      }
    })
    await running
    stopSent = performance.now()
    sentAt.push(performance.timeOrigin + stopSent)
    await send(`${stopOn.url}/stop`, agent, JSON.stringify({ session_id: session }))
    await done
    if (i >= 0) {
      times.push(canceled - stopSent)
      canceledAt.push(performance.timeOrigin + canceled)
    }
  }
  // where the time went: from the client to the stop route, and from there to the run's interruption
  const trace = await traceOf([streamOn, stopOn])
  const traced = trace.stops.length === sentAt.length && trace.interrupted.length === sentAt.length
  const toServer = traced ? sentAt.map((sent, i) => trace.stops[i] - sent).slice(warmUp) : []
  const inServer = traced ? trace.stops.map((arrived, i) => trace.interrupted[i] - arrived).slice(warmUp) : []
  // how much of each stop's wait the streaming node spent in garbage collection; for the slowest
  // twentieth of the stops too, to tell a tail of GC pauses from a tail of busy turns
  const gc = sentAt.slice(warmUp).map((sent, i) => pausedWithin(trace.gc, sent, canceledAt[i]))
  const slowest = times.map((time, i) => [time, gc[i]]).sort((a, b) => b[0] - a[0]).slice(0, Math.max(1, Math.ceil(n / 20)))
  // the same number of `/liveness` round trips on the streaming node: what any request waits there,
  // so that a stop's tail under load can be told from the server's own tail under that load
  const liveness: Array<number> = []
  for (let i = 0; i < n; i++) {
    const start = performance.now()
    await send(`${streamOn.url}/liveness`, agent)
    liveness.push(performance.now() - start)
  }
  agent.destroy()
  return {
    p50: round(percentile(times, 50)),
    p99: round(percentile(times, 99)),
    baseline_liveness_rtt_p50: round(percentile(liveness, 50)),
    baseline_liveness_rtt_p99: round(percentile(liveness, 99)),
    // null when the servers' trace does not line up with the stops sent
    stop_reaches_server: traced ? { p50: round(percentile(toServer, 50)), p99: round(percentile(toServer, 99)) } : null,
    stop_received_to_run_interrupted: traced
      ? { p50: round(percentile(inServer, 50)), p99: round(percentile(inServer, 99)) }
      : null,
    p50_ratio_to_rtt: round(percentile(times, 50) / percentile(liveness, 50), 1),
    gc_pause_in_wait: {
      mean: round(mean(gc)),
      slowest_5pct_wait: round(mean(slowest.map(([time]) => time))),
      slowest_5pct_gc: round(mean(slowest.map(([, paused]) => paused)))
    }
  }
}

/**
 * Runs `f` while 32 connections keep the server saturated with /process
 * requests. The load comes from autocannon in a process of its own, so that
 * the measuring client's event loop is not the one parsing the load's replies.
 */
async function underLoad<A>(server: Server, f: () => Promise<A>): Promise<A> {
  const body = JSON.stringify({ input: [{ role: "user", content: [{ type: "text", text: "load" }] }] })
  // the load generator runs at a lower priority than this process, which measures: it shares this
  // core, and the stops' client must not wait for the scheduler behind it
  const load = spawn(canNice ? "nice" : process.execPath, [
    ...(canNice ? ["-n", "10", process.execPath] : []),
    path.join(root, "node_modules/autocannon/autocannon.js"),
    "--connections", "32", "--duration", "600", "--method", "POST",
    "--headers", "content-type=application/json", "--body", body, "--json",
    `${server.url}/process`
  ], { stdio: "ignore" })
  const exited = new Promise<void>((resolve) => load.once("exit", () => resolve()))
  try {
    // saturated: the server's CPU runs near a full core (deadline 10 s)
    const deadline = Date.now() + 10_000
    let cpu = cpuMs(server.pid)
    while (Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100))
      const now = cpuMs(server.pid)
      if (now - cpu > 80) break
      cpu = now
    }
    return await f()
  } finally {
    load.kill("SIGKILL")
    await exited
  }
}

async function startups(script: string, env: Record<string, string>, n: number) {
  const times = await timesToReady(() => startUnderTest(script, env, { sources: true }), n)
  return { p50: round(percentile(times, 50)), max: round(Math.max(...times)) }
}
