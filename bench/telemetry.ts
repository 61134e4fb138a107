/**
 * 14. Tracing: the server's CPU per request and throughput of the same Friday
 * request (no delay) with traces, metrics and logs exported over OTLP (to a
 * sink in this process that reads and drops them) against no endpoint: every
 * trace recorded (the default sampler), one in ten
 * (`parentbased_traceidratio` 0.1) and none (`parentbased_always_off`:
 * metrics and logs only). Beside them, the Effect floor (Effect's HTTP server
 * replaying Friday's reply, no agentapp code) without a tracer, under a tracer
 * that records nothing, and exporting its request spans over OTLP: what one
 * traced request costs Effect itself. Every server runs in each round, in a
 * new order; target: ≤ 10% with tracing on.
 */
import { writeFileSync } from "node:fs"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import { load, type Load, percentile, round, scratch, type Server } from "./lib.ts"

type Start = (script: string, env?: Record<string, string>) => Promise<Server>

const body = JSON.stringify({ input: [{ role: "user", content: [{ type: "text", text: "Hello Friday" }] }] })

export const telemetryBench = async (start: Start, quick: boolean) => {
  let exported = 0
  const sink = http.createServer((request, reply) => {
    request.on("data", (chunk: Buffer) => (exported += chunk.length))
    request.on("end", () => reply.writeHead(200, { "content-type": "application/json" }).end("{}"))
  })
  await new Promise<void>((resolve) => sink.listen(0, "127.0.0.1", resolve))
  const endpoint = `http://127.0.0.1:${(sink.address() as AddressInfo).port}`
  const off = await start("examples/main.ts", { FRIDAY_DELAY_MS: "0" })
  const replay = scratch("replay-14.bin")
  const reply = await fetch(`${off.url}/process`, { method: "POST", headers: { "content-type": "application/json" }, body })
  writeFileSync(replay, Buffer.from(await reply.arrayBuffer()))
  const exporting = (sampler: Record<string, string>) =>
    start("examples/main.ts", { FRIDAY_DELAY_MS: "0", OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, ...sampler })
  const floor = (env: Record<string, string>) => start("bench/servers/effect-min.ts", { REPLAY_FILE: replay, ...env })
  const [all, tenth, none, floorOff, floorNoop, floorOtlp] = await Promise.all([
    exporting({}),
    exporting({ OTEL_TRACES_SAMPLER: "parentbased_traceidratio", OTEL_TRACES_SAMPLER_ARG: "0.1" }),
    exporting({ OTEL_TRACES_SAMPLER: "parentbased_always_off" }),
    floor({}),
    floor({ TRACER: "noop" }),
    floor({ TRACER: "otlp", OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_TRACES_EXPORTER: "otlp" })
  ])
  const servers = { off, all, tenth, none, floor: floorOff, floorNoop, floorOtlp }
  type Name = keyof typeof servers
  try {
    const seconds = quick ? 1 : 2
    const run = async (server: Server) => {
      const result = await load(server, { path: "/process", body, connections: 16, seconds })
      if (result.non2xx > 0 || result.errors > 0) throw new Error(`${result.non2xx} non-2xx, ${result.errors} errors`)
      return result
    }
    const names = Object.keys(servers) as Array<Name>
    for (const name of names) await load(servers[name], { path: "/process", body, connections: 16, seconds: 1 })
    const runs = Object.fromEntries(names.map((name) => [name, [] as Array<Load>])) as Record<Name, Array<Load>>
    // the machine's speed drifts by more than the differences: each round runs them all, in a new order
    for (let i = 0; i < (quick ? 1 : 5); i++) {
      for (const name of [...names].sort(() => Math.random() - 0.5)) runs[name].push(await run(servers[name]))
    }
    if (exported === 0) throw new Error("nothing was exported with tracing on")
    // the median of each round's ratio to the server without a tracer of the same round
    const ratio = (name: Name, to: Name, of: (result: Load) => number) =>
      round(percentile(runs[name].map((result, i) => of(result) / of(runs[to][i])), 50), 2)
    const cpu = (result: Load) => result.cpuMsPerRequest
    const rps = (result: Load) => result.rps
    const cpuUs = (name: Name) => round(percentile(runs[name].map(cpu), 50) * 1000, 0)
    return {
      cpu_us_per_request_off: cpuUs("off"),
      all_traces_cpu_ratio: ratio("all", "off", cpu),
      all_traces_throughput: ratio("all", "off", rps),
      tenth_of_traces_cpu_ratio: ratio("tenth", "off", cpu),
      tenth_of_traces_throughput: ratio("tenth", "off", rps),
      no_traces_cpu_ratio: ratio("none", "off", cpu),
      no_traces_throughput: ratio("none", "off", rps),
      effect_floor_cpu_us_per_request: cpuUs("floor"),
      effect_floor_noop_tracer_cpu_ratio: ratio("floorNoop", "floor", cpu),
      effect_floor_otlp_cpu_ratio: ratio("floorOtlp", "floor", cpu),
      effect_floor_otlp_throughput: ratio("floorOtlp", "floor", rps),
      // what one traced request costs Effect, against the 10% of Friday's request the budget allows
      effect_floor_noop_tracer_extra_us: cpuUs("floorNoop") - cpuUs("floor"),
      effect_floor_otlp_extra_us: cpuUs("floorOtlp") - cpuUs("floor"),
      budget_us: round(cpuUs("off") * 0.1, 0),
      exported_kib: round(exported / 1024, 0)
    }
  } finally {
    await Promise.all(Object.values(servers).map((server) => server.stop()))
    sink.close()
  }
}
