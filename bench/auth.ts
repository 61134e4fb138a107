/**
 * 13. Auth: the server's CPU per request of the same Friday request (no
 * delay) with auth off, with an API key and with a JWT (HMAC; remembered
 * after its first check), the three servers alternated; targets: an API key
 * costs at most 5%, a JWT at most 10%. Then the per-user request rate on
 * Redis: round trips to Redis per request with `requestsPerMinute` on and
 * off (target: at most one more, one script call).
 */
import { Redis } from "ioredis"
import * as jose from "jose"
import { startRedisServer } from "../test/support/redis.ts"
import { load, round, type Server } from "./lib.ts"

type Start = (script: string, env?: Record<string, string>) => Promise<Server>

const body = JSON.stringify({ input: [{ role: "user", content: [{ type: "text", text: "Hello Friday" }] }] })
const mean = (values: ReadonlyArray<number>) => values.reduce((a, b) => a + b, 0) / values.length

const cpu = async (start: Start, seconds: number, rounds: number) => {
  const secret = crypto.randomUUID()
  const token = await new jose.SignJWT({ sub: "bench" }).setProtectedHeader({ alg: "HS256" }).setIssuer("bench")
    .setAudience("agentapp").setExpirationTime("1h").sign(new TextEncoder().encode(secret))
  const [off, apiKey, jwt] = await Promise.all([
    start("examples/main.ts", { FRIDAY_DELAY_MS: "0" }),
    start("examples/main.ts", { FRIDAY_DELAY_MS: "0", API_KEYS: "bench-key=bench" }),
    start("bench/servers/jwt-friday.ts", { FRIDAY_DELAY_MS: "0", JWT_SECRET: secret })
  ])
  const servers = {
    off: { server: off, headers: {} },
    apiKey: { server: apiKey, headers: { authorization: "Bearer bench-key" } },
    jwt: { server: jwt, headers: { authorization: `Bearer ${token}` } }
  }
  try {
    for (const { headers, server } of Object.values(servers)) await load(server, { path: "/process", body, connections: 16, seconds: 1, headers })
    const run = async (which: keyof typeof servers) => {
      const { headers, server } = servers[which]
      const result = await load(server, { path: "/process", body, connections: 16, seconds, headers })
      if (result.non2xx > 0 || result.errors > 0) throw new Error(`${which}: ${result.non2xx} non-2xx, ${result.errors} errors`)
      return result.cpuMsPerRequest
    }
    const runs = { off: [] as Array<number>, apiKey: [] as Array<number>, jwt: [] as Array<number> }
    // alternated, as the machine's speed drifts by more than the differences
    for (let i = 0; i < rounds; i++) {
      for (const which of ["off", "apiKey", "jwt", "jwt", "apiKey", "off"] as const) runs[which].push(await run(which))
    }
    return {
      cpu_ms_per_request_off: round(mean(runs.off), 3),
      cpu_ms_per_request_api_key: round(mean(runs.apiKey), 3),
      cpu_ms_per_request_jwt: round(mean(runs.jwt), 3),
      api_key_to_off_ratio: round(mean(runs.apiKey) / mean(runs.off), 2),
      jwt_to_off_ratio: round(mean(runs.jwt) / mean(runs.off), 2)
    }
  } finally {
    await Promise.all(Object.values(servers).map(({ server }) => server.stop()))
  }
}

/**
 * Round trips to Redis per request of one server, under load: the commands
 * clients sent, counted with MONITOR (commands a script runs are its own
 * round trip's, and MONITOR shows them as the script's).
 */
const roundTripsPerRequest = async (start: Start, redisUrl: string, env: Record<string, string>, seconds: number) => {
  const server = await start("examples/distributed.ts", { FRIDAY_DELAY_MS: "0", REDIS_URL: redisUrl, API_KEYS: "bench-key=bench", ...env })
  const redis = new Redis(redisUrl)
  try {
    const headers = { authorization: "Bearer bench-key" }
    await load(server, { path: "/process", body, connections: 8, seconds: 1, headers })
    const monitor = await redis.monitor()
    let sent = 0
    monitor.on("monitor", (_time: string, _args: Array<string>, source: string) => {
      if (source !== "lua") sent++
    })
    const result = await load(server, { path: "/process", body, connections: 8, seconds, headers })
    monitor.disconnect()
    if (result.non2xx > 0 || result.errors > 0) throw new Error(`${result.non2xx} non-2xx, ${result.errors} errors`)
    return sent / result.requests
  } finally {
    redis.disconnect()
    await server.stop()
  }
}

export const authBench = async (start: Start, quick: boolean) => {
  const seconds = quick ? 1 : 3
  const memory = await cpu(start, seconds, quick ? 1 : 2)
  const redis = await startRedisServer()
  try {
    const off = await roundTripsPerRequest(start, redis.url, {}, seconds)
    const on = await roundTripsPerRequest(start, redis.url, { REQUESTS_PER_MINUTE: "1000000000" }, seconds)
    return {
      ...memory,
      redis_round_trips_per_request_rate_off: round(off, 2),
      redis_round_trips_per_request_rate_on: round(on, 2),
      rate_limiter_round_trips_per_request: round(on - off, 2)
    }
  } finally {
    await redis.stop()
  }
}
