/**
 * 15. Against what users would run instead: Friday on agentapp, the same
 * reply from a hand-written node:http server (raw-friday.ts), from Hono's
 * `streamSSE` (hono-friday.ts) and from FastAPI on uvicorn, the original's
 * stack (fastapi_friday.py; Debian's python3-fastapi and python3-uvicorn,
 * skipped with a message when missing). Each server pinned to core 0 in
 * turn, rounds alternated: throughput at 50 and 200 connections on fresh
 * sessions, CPU per request at a fixed rate, idle time to the first text
 * frame, and startup to the first 200 on /readiness; agentapp's ratio to
 * each baseline.
 */
import { execFileSync } from "node:child_process"
import { existsSync } from "node:fs"
import * as http from "node:http"
import { load, mean, percentile, round, type Server, sseEvents, timesToReady } from "./lib.ts"

type Start = (script: string, env?: Record<string, string>, options?: { readonly command?: ReadonlyArray<string> }) => Promise<Server>

const body = JSON.stringify({ input: [{ role: "user", content: [{ type: "text", text: "Hello Friday" }] }] })
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
  raw: { script: "bench/servers/raw-friday.ts", command: undefined },
  hono: { script: "bench/servers/hono-friday.ts", command: undefined },
  fastapi: { script: "", command: [python ?? "python3", "bench/servers/fastapi_friday.py"] }
})
type Name = keyof ReturnType<typeof servers>

/** Time from the request to the first text delta, one request at a time. */
const firstFrame = (server: Server) =>
  new Promise<number>((resolve, reject) => {
    const start = performance.now()
    let first = 0
    const request = http.request(`${server.url}/process`, { method: "POST", headers: { "content-type": "application/json" } }, (response) => {
      response.setEncoding("utf8")
      response.on("data", (text: string) => {
        if (first === 0 && text.includes("\"delta\":true")) first = performance.now() - start
      })
      response.on("end", () => (first === 0 ? reject(new Error("no text frame")) : resolve(first)))
    })
    request.on("error", reject)
    request.end(body)
  })

export const baselinesBench = async (start: Start, quick: boolean) => {
  const python = findPython()
  const missing = python === undefined
    ? "FastAPI baseline skipped: no python3 with fastapi and uvicorn (apt-get install python3-fastapi python3-uvicorn)"
    : undefined
  if (missing !== undefined) console.error(missing)
  const baselines = servers(python)
  const names = (Object.keys(baselines) as Array<Name>).filter((name) => name !== "fastapi" || missing === undefined)
  const launch = (name: Name) =>
    start(baselines[name].script, { FRIDAY_DELAY_MS: "0" }, baselines[name].command === undefined ? undefined : { command: baselines[name].command })
  const seconds = quick ? 3 : 5
  const rounds = quick ? 1 : 2
  // each figure of each server, one value per round
  const runs = Object.fromEntries(names.map((name) => [name, {} as Record<string, Array<number>>]))
  const reply = async (server: Server) =>
    sseEvents(await (await fetch(`${server.url}/process`, { method: "POST", headers: { "content-type": "application/json" }, body })).text())
  let expected: Array<string> | undefined
  for (let pass = 0; pass < rounds; pass++) {
    // alternated: the first round in order, the second reversed
    for (const name of pass % 2 === 0 ? names : [...names].reverse()) {
      const server = await launch(name)
      try {
        // every baseline answers with the events agentapp sends (ids and timestamps aside)
        const events = await reply(server)
        expected ??= name === "agentapp" ? events : undefined
        if (expected !== undefined && events.join("\n") !== expected.join("\n")) {
          throw new Error(`${baselines[name].command?.join(" ") ?? baselines[name].script} no longer answers the events agentapp sends: update it`)
        }
        const loads: Record<string, number> = {}
        // steady state, as a server in service is: V8 optimizes agentapp's code over its first seconds
        await load(server, { path: "/process", body, connections: 50, seconds: 5 })
        for (const connections of [50, 200]) {
          const result = await load(server, { path: "/process", body, connections, seconds })
          if (result.non2xx > 0 || result.errors > 0) throw new Error(`${name}: ${result.non2xx} non-2xx, ${result.errors} errors`)
          loads[`rps_c${connections}`] = result.rps
          if (connections === 50) loads.cpu_ms_per_request = result.cpuMsPerRequest
        }
        const frames: Array<number> = []
        for (let i = 0; i < (quick ? 100 : 200); i++) frames.push(await firstFrame(server))
        loads.idle_ttfb_p50_ms = percentile(frames, 50)
        for (const [key, value] of Object.entries(loads)) (runs[name][key] ??= []).push(value)
      } finally {
        await server.stop()
      }
    }
  }
  const results = Object.fromEntries(names.map((name) =>
    [name, Object.fromEntries(Object.entries(runs[name]).map(([key, values]) => [key, mean(values)]))]
  ))
  // startup: process start → first 200 on /readiness, agentapp's production bundle when built
  const bundle = existsSync("dist/main.mjs") ? "dist/main.mjs" : "examples/main.ts"
  for (const name of names) {
    const times = await timesToReady(() => name === "agentapp" ? start(bundle, {}) : launch(name), quick ? 3 : 5)
    results[name].startup_ms = percentile(times, 50)
  }
  const ratios = (to: Name) =>
    results[to] === undefined ? undefined : Object.fromEntries(
      Object.keys(results.agentapp).map((key) => [key, round(results.agentapp[key] / results[to][key], 2)])
    )
  return {
    figures: Object.fromEntries(names.map((name) => [name, Object.fromEntries(Object.entries(results[name]).map(([k, v]) => [k, round(v, 3)]))])),
    agentapp_to_fastapi: ratios("fastapi") ?? missing,
    agentapp_to_hono: ratios("hono"),
    agentapp_to_raw: ratios("raw"),
    startup_of: bundle,
    // uvicorn's standard setup; without them its idle TTFB is ~40 ms
    uvicorn: python === undefined ? undefined : imports(python, "uvloop, httptools")
      ? "uvloop and httptools"
      : "asyncio and h11 (apt-get install python3-uvloop python3-httptools)"
  }
}
