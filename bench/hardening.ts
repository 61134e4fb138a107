/**
 * The bench's hardening scenarios: what a rejected body costs against a
 * valid request (7), and what a long session costs against a fresh one (8).
 */
import * as http from "node:http"
import { startRedisServer } from "../test/support/redis.ts"
import { cpuMs, load, type Load, round, type Server } from "./lib.ts"

type Start = (script: string, env?: Record<string, string>) => Promise<Server>

/** One POST over a kept-alive connection: the status and the reply's size. */
const post = (agent: http.Agent, url: string, body: string) =>
  new Promise<{ status: number; bytes: number }>((resolve, reject) => {
    const request = http.request(url, {
      method: "POST",
      agent,
      headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) }
    }, (response) => {
      let bytes = 0
      response.on("data", (chunk: Buffer) => (bytes += chunk.length))
      response.on("end", () => resolve({ status: response.statusCode!, bytes }))
      response.on("error", reject)
    })
    request.on("error", reject)
    request.end(body)
  })

const oneMiB = 1024 * 1024

/** The bodies of scenario 7, each about 1 MiB but Friday's. */
const bodies = (): Record<string, string> => {
  const friday = JSON.stringify({ input: [{ role: "user", content: [{ type: "text", text: "Hello Friday" }] }] })
  const validLarge = JSON.stringify({
    input: [{ role: "user", content: [{ type: "text", text: "x".repeat(oneMiB - 200) }] }],
    stream: false
  })
  const elements = Math.floor((oneMiB - 20) / 2)
  const badElements = `{"input":[${"1,".repeat(elements - 1)}1]}`
  const depth = Math.floor((oneMiB - 40) / 6)
  const deep = `{"input":[],"x":${"{\"a\":".repeat(depth)}1${"}".repeat(depth)}}`
  const notJson = `{"input":[${"x".repeat(oneMiB - 20)}`
  return {
    friday_valid: friday,
    valid_1mib_text: validLarge,
    bad_1mib_500k_elements: badElements,
    bad_1mib_nested_175k_levels: deep,
    bad_1mib_not_json: notJson
  }
}

/**
 * 7. The cost of rejecting bad bodies: server CPU per request and reply size
 * of 1 MiB bad bodies, against a valid Friday request and a valid 1 MiB one,
 * on the same server, requests one at a time.
 */
export const rejectedBodies = async (start: Start, quick: boolean) => {
  const agent = await start("examples/main.ts", { FRIDAY_DELAY_MS: "0" })
  const keepAlive = new http.Agent({ keepAlive: true, maxSockets: 1 })
  const url = `${agent.url}/process`
  const n = quick ? 20 : 60
  const out: Record<string, unknown> = {}
  try {
    for (const [name, body] of Object.entries(bodies())) {
      for (let i = 0; i < 5; i++) await post(keepAlive, url, body) // warm-up
      const before = cpuMs(agent.pid)
      let last = { status: 0, bytes: 0 }
      for (let i = 0; i < n; i++) last = await post(keepAlive, url, body)
      out[name] = {
        body_bytes: Buffer.byteLength(body),
        status: last.status,
        reply_bytes: last.bytes,
        cpu_ms_per_request: round((cpuMs(agent.pid) - before) / n, 2)
      }
    }
  } finally {
    keepAlive.destroy()
    await agent.stop()
  }
  const cpu = (name: string) => (out[name] as { cpu_ms_per_request: number }).cpu_ms_per_request
  return {
    requests_each: n,
    ...out,
    bad_elements_to_valid_1mib_cpu_ratio: round(cpu("bad_1mib_500k_elements") / cpu("valid_1mib_text"), 2),
    nested_to_valid_1mib_cpu_ratio: round(cpu("bad_1mib_nested_175k_levels") / cpu("valid_1mib_text"), 2)
  }
}

/** A Friday-sized turn, in a session of its own or in `session`. */
const turn = (session?: string) =>
  JSON.stringify({
    input: [{ role: "user", content: [{ type: "text", text: "Hello again" }] }],
    ...(session === undefined ? {} : { session_id: session })
  })

/**
 * 8. A long session against fresh ones: turns one at a time (a session runs
 * one turn at a time), in sessions of their own, then in one session whose
 * history is at its 200-message cap; on memory and on Redis. The agent
 * does not read the history, so the difference is the library's own.
 */
export const longSession = async (start: Start, quick: boolean) => {
  const seconds = quick ? 1 : 2
  const measure = async (server: Server) => {
    const session = `long-${crypto.randomUUID()}`
    // 120 turns of two messages each: the history is at its cap of 200
    const keepAlive = new http.Agent({ keepAlive: true, maxSockets: 1 })
    for (let i = 0; i < 120; i++) {
      const { status } = await post(keepAlive, `${server.url}/process`, turn(session))
      if (status !== 200) throw new Error(`a turn of the long session was answered ${status}`)
    }
    keepAlive.destroy()
    // the load's last request is cut off when its time is up: its run may still hold the session for a
    // moment (on Redis, until its end is recorded), so a run in the long session waits until it is free
    const free = async () => {
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 })
      const deadline = Date.now() + 10_000
      let reply = await post(agent, `${server.url}/process`, turn(session))
      while (reply.status !== 200) {
        reply = await post(agent, `${server.url}/process`, turn(session))
        if (Date.now() > deadline) throw new Error(`the long session stayed busy for 10 s (${reply.status})`)
      }
      agent.destroy()
    }
    const run = async (body: string) => {
      if (body.includes(session)) await free()
      return load(server, { path: "/process", body, connections: 1, seconds })
    }
    await run(turn())
    // alternated: fresh, long, long, fresh
    const fresh: Array<Load> = [await run(turn())]
    const long: Array<Load> = [await run(turn(session)), await run(turn(session))]
    fresh.push(await run(turn()))
    const rps = (runs: ReadonlyArray<Load>) => runs.reduce((sum, one) => sum + one.rps, 0) / runs.length
    const cpu = (runs: ReadonlyArray<Load>) => runs.reduce((sum, one) => sum + one.cpuMsPerRequest, 0) / runs.length
    const errors = [...fresh, ...long].reduce((sum, one) => sum + one.errors + one.non2xx, 0)
    return {
      fresh_req_per_s: round(rps(fresh), 0),
      long_req_per_s: round(rps(long), 0),
      fresh_cpu_ms_per_request: round(cpu(fresh), 3),
      long_cpu_ms_per_request: round(cpu(long), 3),
      long_to_fresh_throughput_ratio: round(rps(long) / rps(fresh), 3),
      errors
    }
  }
  const env = { MODE: "burst", FRAMES: "20" }
  const memory = await start("bench/servers/agent.ts", env)
  const onMemory = await measure(memory).finally(() => memory.stop())
  const redis = await startRedisServer()
  try {
    const distributed = await start("bench/servers/agent.ts", { ...env, REDIS_URL: redis.url })
    const onRedis = await measure(distributed).finally(() => distributed.stop())
    return { memory: onMemory, redis: onRedis }
  } finally {
    await redis.stop()
  }
}
