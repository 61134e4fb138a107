/**
 * 12. The event log: the same Friday request (no delay) through `/process`
 * with the log on and off (`EVENT_LOG=false`), in memory and on Redis, the
 * server's CPU per request, alternated (off, on, on, off); target: the log
 * costs at most 15% in memory. Then the fan-out of one run (a story, 5 ms a word, 1 ms in `--quick`)
 * to 1,000 followers (100 in `--quick`) of `GET /process/{id}/events`: every follower
 * gets the whole run, and how far the last is behind the first at the end.
 */
import * as http from "node:http"
import { startRedisServer } from "../test/support/redis.ts"
import { cpuMs, load, round, type Server } from "./lib.ts"

type Start = (script: string, env?: Record<string, string>) => Promise<Server>

const body = JSON.stringify({ input: [{ role: "user", content: [{ type: "text", text: "Hello Friday" }] }] })

const cpuOnOff = async (start: Start, script: string, env: Record<string, string>, seconds: number, rounds: number) => {
  const [on, off] = await Promise.all([
    start(script, { FRIDAY_DELAY_MS: "0", ...env }),
    start(script, { FRIDAY_DELAY_MS: "0", EVENT_LOG: "false", ...env })
  ])
  try {
    for (const server of [on, off]) await load(server, { path: "/process", body, connections: 16, seconds: 1 })
    const run = async (server: Server) => {
      const result = await load(server, { path: "/process", body, connections: 16, seconds })
      if (result.non2xx > 0 || result.errors > 0) throw new Error(`${result.non2xx} non-2xx, ${result.errors} errors`)
      return result.cpuMsPerRequest
    }
    // alternated (off, on, on, off) per round, as the machine's speed drifts by more than the difference
    const offRuns: Array<number> = []
    const onRuns: Array<number> = []
    for (let i = 0; i < rounds; i++) {
      offRuns.push(await run(off))
      onRuns.push(await run(on), await run(on))
      offRuns.push(await run(off))
    }
    const mean = (values: ReadonlyArray<number>) => values.reduce((a, b) => a + b, 0) / values.length
    return {
      cpu_ms_per_request_off: round(mean(offRuns), 3),
      cpu_ms_per_request_on: round(mean(onRuns), 3),
      on_to_off_ratio: round(mean(onRuns) / mean(offRuns), 2),
      runs_on_to_off: onRuns.map((value, i) => round(value / offRuns[i], 2))
    }
  } finally {
    await Promise.all([on.stop(), off.stop()])
  }
}

/** Follows a run's events; resolves with the bytes and when the stream ended. */
const follow = (url: string, id: string) =>
  new Promise<{ readonly bytes: string; readonly endedAt: number }>((resolve, reject) => {
    const request = http.get(`${url}/process/${id}/events`, { agent: false }, (reply) => {
      let bytes = ""
      reply.setEncoding("utf8")
      reply.on("data", (chunk: string) => (bytes += chunk))
      reply.on("end", () => resolve({ bytes, endedAt: performance.now() }))
      reply.on("error", reject)
    })
    request.on("error", reject)
  })

const fanOut = async (start: Start, followers: number, delayMs: number) => {
  const server = await start("examples/main.ts", { FRIDAY_DELAY_MS: String(delayMs) })
  try {
    const started = await fetch(`${server.url}/process`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ input: [{ role: "user", content: [{ type: "text", text: "Tell me a long story" }] }], background: true })
    })
    const { id } = await started.json() as { id: string }
    const before = cpuMs(server.pid)
    const all = await Promise.all(Array.from({ length: followers }, () => follow(server.url, id)))
    const cpu = cpuMs(server.pid) - before
    const whole = all[0].bytes
    if (!all.every((one) => one.bytes === whole)) throw new Error("the followers did not all get the same bytes")
    const frames = whole.split("\n\n").filter((frame) => frame.startsWith("id: ")).length
    const ends = all.map((one) => one.endedAt).sort((a, b) => a - b)
    return {
      followers,
      frames_each: frames,
      server_cpu_ms: round(cpu, 0),
      cpu_us_per_frame_delivered: round((cpu * 1000) / (frames * followers), 2),
      last_end_behind_first_ms: round(ends[ends.length - 1] - ends[0], 1)
    }
  } finally {
    await server.stop()
  }
}

export const eventLogBench = async (start: Start, quick: boolean) => {
  const seconds = quick ? 1 : 3
  const memory = await cpuOnOff(start, "examples/main.ts", {}, seconds, quick ? 1 : 2)
  const redis = await startRedisServer()
  let onRedis: Awaited<ReturnType<typeof cpuOnOff>>
  try {
    onRedis = await cpuOnOff(start, "examples/distributed.ts", { REDIS_URL: redis.url }, seconds, 1)
  } finally {
    await redis.stop()
  }
  return { memory, redis: onRedis, fan_out: await fanOut(start, quick ? 100 : 1_000, quick ? 1 : 5) }
}
