/**
 * 15. Against what users would run instead and against the floors: Friday on
 * agentapp, the same reply from the Effect floor (effect-friday.ts: Effect's
 * HTTP server, no agentapp), a hand-written node:http server (raw-friday.ts),
 * Hono's `streamSSE` (hono-friday.ts) and FastAPI on uvicorn, the original's
 * stack (fastapi_friday.py; Debian's python3-fastapi and python3-uvicorn,
 * skipped with a message when missing). Each server pinned to core 0 in
 * turn, rounds alternated, each checked to send agentapp's events first:
 * throughput at 50 and 200 connections on fresh sessions and on sessions
 * whose history is at its cap (one per connection), CPU per request at a
 * fixed rate, idle time to the first text frame, RSS and CPU per open stream
 * (the reply paced one word a second), startup to the first 200 on
 * /readiness; agentapp's ratio to each.
 */
import { execFileSync } from "node:child_process"
import * as http from "node:http"
import { cpuMs, load, mean, percentile, round, rssBytes, type Server, sseEvents, timesToReady } from "./lib.ts"

type Start = (script: string, env?: Record<string, string>, options?: { readonly command?: ReadonlyArray<string> }) => Promise<Server>

const said = (text: string, sessionId?: string) =>
  JSON.stringify({ input: [{ role: "user", content: [{ type: "text", text }] }], ...(sessionId === undefined ? {} : { session_id: sessionId }) })
const body = said("Hello Friday")

/** The Python that has the original's stack: Debian's (a python3 of pyenv or a venv first on PATH may lack it). */
const findPython = (): string | undefined =>
  ["/usr/bin/python3", "python3"].find((candidate) => imports(candidate, "fastapi, uvicorn"))

const imports = (python: string, modules: string): boolean => {
  try {
    execFileSync(python, ["-c", `import ${modules}`], { stdio: "ignore" })
    return true
  } catch {
    return false
  }
}

const servers = (python: string | undefined) => ({
  agentapp: { script: "examples/main.ts", command: undefined },
  effect: { script: "bench/servers/effect-friday.ts", command: undefined },
  raw: { script: "bench/servers/raw-friday.ts", command: undefined },
  hono: { script: "bench/servers/hono-friday.ts", command: undefined },
  fastapi: { script: "", command: [python ?? "python3", "bench/servers/fastapi_friday.py"] }
})
type Name = keyof ReturnType<typeof servers>

/** POSTs `payload` to /process; calls back with each chunk of the reply; `request` can abort it. */
const post = (server: Server, payload: string, onText: (text: string) => void, agent?: http.Agent) => {
  let request!: http.ClientRequest
  const done = new Promise<void>((resolve, reject) => {
    request = http.request(`${server.url}/process`, { method: "POST", agent: agent ?? false, headers: { "content-type": "application/json" } }, (response) => {
      response.setEncoding("utf8")
      response.on("data", onText)
      response.on("end", resolve)
      response.on("error", reject)
    })
    request.on("error", reject)
    request.end(payload)
  })
  return { request, done }
}

const reply = async (server: Server, payload: string) => {
  let text = ""
  await post(server, payload, (chunk) => (text += chunk)).done
  return sseEvents(text)
}

/** The events of a fresh request, and of a session's second turn that remembers the name given in the first. */
const conversation = async (server: Server) => {
  const session = crypto.randomUUID()
  await reply(server, said("My name is Ada", session))
  return [...await reply(server, body), ...await reply(server, said("Hello again", session))]
}

/** Time from the request to the first text delta, one request at a time. */
const firstFrame = async (server: Server) => {
  const start = performance.now()
  let first = 0
  await post(server, body, (text) => {
    if (first === 0 && text.includes("\"delta\":true")) first = performance.now() - start
  }).done
  if (first === 0) throw new Error("no text frame")
  return first
}

/**
 * `count` streams open at once (the reply paced one word a second): RSS per
 * stream once each has its first word, and CPU per word over `seconds` while
 * all are open; then they are dropped.
 */
const openStreams = async (server: Server, count: number, seconds: number) => {
  const agent = new http.Agent({ keepAlive: false, maxSockets: Number.POSITIVE_INFINITY })
  const before = rssBytes(server.pid)
  let words = 0
  let started = 0
  let allStarted!: () => void
  const ready = new Promise<void>((resolve) => (allStarted = resolve))
  const streams = Array.from({ length: count }, () => {
    let first = true
    return post(server, body, (text) => {
      const n = text.split("\"delta\":true").length - 1
      words += n
      if (n > 0 && first) {
        first = false
        if (++started === count) allStarted()
      }
    }, agent)
  })
  for (const stream of streams) stream.done.catch(() => {})
  await ready
  const rss = rssBytes(server.pid)
  const cpu = cpuMs(server.pid)
  const wordsBefore = words
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000))
  const used = cpuMs(server.pid) - cpu
  const delivered = words - wordsBefore
  for (const stream of streams) stream.request.destroy()
  agent.destroy()
  return { rss_kib_per_stream: (rss - before) / 1024 / count, cpu_us_per_word: (used * 1000) / delivered }
}

export const baselinesBench = async (start: Start, quick: boolean) => {
  const python = findPython()
  const missing = python === undefined
    ? "FastAPI baseline skipped: no python3 with fastapi and uvicorn (apt-get install python3-fastapi python3-uvicorn)"
    : undefined
  if (missing !== undefined) console.error(missing)
  const baselines = servers(python)
  const names = (Object.keys(baselines) as Array<Name>).filter((name) => name !== "fastapi" || missing === undefined)
  const launch = (name: Name, env: Record<string, string> = {}) =>
    start(baselines[name].script, { FRIDAY_DELAY_MS: "0", ...env }, baselines[name].command === undefined ? undefined : { command: baselines[name].command })
  const seconds = quick ? 1 : 2
  const rounds = quick ? 1 : 2
  // each figure of each server, one value per round
  const runs = Object.fromEntries(names.map((name) => [name, {} as Record<string, Array<number>>]))
  const record = (name: Name, figures: Record<string, number>) => {
    for (const [key, value] of Object.entries(figures)) (runs[name][key] ??= []).push(value)
  }
  let expected: Array<string> | undefined
  for (let pass = 0; pass < rounds; pass++) {
    // alternated: the first round in order, the second reversed
    for (const name of pass % 2 === 0 ? names : [...names].reverse()) {
      const server = await launch(name)
      try {
        // every baseline answers with the events agentapp sends (ids and timestamps aside)
        const events = await conversation(server)
        expected ??= name === "agentapp" ? events : undefined
        if (expected !== undefined && events.join("\n") !== expected.join("\n")) {
          throw new Error(`${baselines[name].command?.join(" ") ?? baselines[name].script} no longer answers the events agentapp sends: update it`)
        }
        const measured = async (options: Omit<Parameters<typeof load>[1], "path" | "body"> & { body?: string }) => {
          const result = await load(server, { path: "/process", body, ...options })
          if (result.non2xx > 0 || result.errors > 0) throw new Error(`${name}: ${result.non2xx} non-2xx, ${result.errors} errors`)
          return result
        }
        // steady state, as a server in service is: V8 optimizes agentapp's code over its first seconds
        await measured({ connections: 50, seconds: 2 })
        const c50 = await measured({ connections: 50, seconds })
        const c200 = await measured({ connections: 200, seconds })
        const atRate = await measured({ connections: 50, seconds, rate: 500 })
        // a session per connection, each turn on its own history: a second's turns fill it to its cap first
        const sessions = Array.from({ length: 50 }, () => crypto.randomUUID())
        const capped = { connections: 50, bodyOfConnection: (n: number) => said("Hello Friday", sessions[n]) }
        await measured({ ...capped, seconds: 1 })
        const long = await measured({ ...capped, seconds })
        const frames: Array<number> = []
        for (let i = 0; i < (quick ? 50 : 100); i++) frames.push(await firstFrame(server))
        record(name, {
          rps_c50: c50.rps,
          rps_c200: c200.rps,
          rps_capped_history_c50: long.rps,
          cpu_us_per_request_c50: c50.cpuMsPerRequest * 1000,
          cpu_us_per_request_at_500_rps: atRate.cpuMsPerRequest * 1000,
          idle_ttfb_p50_ms: percentile(frames, 50)
        })
      } finally {
        await server.stop()
      }
    }
  }
  // open streams: each server anew, its reply paced one word a second
  for (const name of names) {
    const server = await launch(name, { FRIDAY_DELAY_MS: "1000" })
    try {
      record(name, await openStreams(server, quick ? 300 : 1000, quick ? 1 : 3))
    } finally {
      await server.stop()
    }
  }
  const results = Object.fromEntries(names.map((name) =>
    [name, Object.fromEntries(Object.entries(runs[name]).map(([key, values]) => [key, mean(values)]))]
  ))
  // startup: process start → first 200 on /readiness; the TypeScript servers bundled as agentapp build
  // bundles them (with V8's compile cache beside), run as start:prod runs them
  for (const name of names) {
    const times = await timesToReady(() => launch(name), quick ? 1 : 5)
    results[name].startup_ms = percentile(times, 50)
  }
  const ratios = (to: Name) =>
    results[to] === undefined ? undefined : Object.fromEntries(
      Object.keys(results.agentapp).map((key) => [key, round(results.agentapp[key] / results[to][key], 2)])
    )
  const toFastapi = ratios("fastapi")
  const toEffect = ratios("effect")!
  return {
    figures: Object.fromEntries(names.map((name) => [name, Object.fromEntries(Object.entries(results[name]).map(([k, v]) => [k, round(v, 2)]))])),
    agentapp_to_fastapi: toFastapi ?? missing,
    agentapp_to_effect_floor: toEffect,
    agentapp_to_hono: ratios("hono"),
    agentapp_to_raw: ratios("raw"),
    targets: {
      "throughput ≥ 2.5× FastAPI, fresh sessions (c50, c200)": toFastapi && [toFastapi.rps_c50, toFastapi.rps_c200],
      "throughput ≥ 2× FastAPI, history at its cap": toFastapi?.rps_capped_history_c50,
      "idle TTFB ≤ 1.0× FastAPI": toFastapi?.idle_ttfb_p50_ms,
      "startup ≤ 0.8× FastAPI": toFastapi?.startup_ms,
      "CPU per request ≤ 1.3× the Effect floor (at 500 req/s)": toEffect.cpu_us_per_request_at_500_rps,
      "RSS per open stream ≤ 1.15× the Effect floor": toEffect.rss_kib_per_stream
    },
    // uvicorn's standard setup; without them its idle TTFB is ~40 ms
    uvicorn: python === undefined ? undefined : imports(python, "uvloop, httptools")
      ? "uvloop and httptools"
      : "asyncio and h11 (apt-get install python3-uvloop python3-httptools)"
  }
}
