/**
 * 14. Tracing: the server's CPU per request and throughput of the same Friday
 * request (no delay) with traces, metrics and logs exported over OTLP (to a
 * sink in this process that reads and drops them) against no endpoint: every
 * trace recorded (the default sampler), one in ten
 * (`parentbased_traceidratio` 0.1) and none (`parentbased_always_off`:
 * metrics and logs only), the four servers alternated in a new order each
 * round; target: ≤ 10% with tracing on.
 */
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import { load, percentile, round, type Server } from "./lib.ts"

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
  const exporting = (sampler: Record<string, string>) =>
    start("examples/main.ts", { FRIDAY_DELAY_MS: "0", OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, ...sampler })
  const servers = {
    off,
    all: await exporting({}),
    tenth: await exporting({ OTEL_TRACES_SAMPLER: "parentbased_traceidratio", OTEL_TRACES_SAMPLER_ARG: "0.1" }),
    none: await exporting({ OTEL_TRACES_SAMPLER: "parentbased_always_off" })
  }
  try {
    const seconds = quick ? 2 : 3
    const run = async (server: Server) => {
      const result = await load(server, { path: "/process", body, connections: 16, seconds })
      if (result.non2xx > 0 || result.errors > 0) throw new Error(`${result.non2xx} non-2xx, ${result.errors} errors`)
      return result
    }
    const names = Object.keys(servers) as Array<keyof typeof servers>
    for (const name of names) await load(servers[name], { path: "/process", body, connections: 16, seconds: 1 })
    const runs = Object.fromEntries(names.map((name) => [name, [] as Array<Awaited<ReturnType<typeof run>>>]))
    // the machine's speed drifts by more than the differences: each round runs all four, in a new order
    for (let i = 0; i < (quick ? 3 : 8); i++) {
      for (const name of [...names].sort(() => Math.random() - 0.5)) runs[name].push(await run(servers[name]))
    }
    if (exported === 0) throw new Error("nothing was exported with tracing on")
    // the median of each round's ratio to the server without tracing of the same round
    const ratio = (name: keyof typeof servers, of: (result: Awaited<ReturnType<typeof run>>) => number) =>
      round(percentile(runs[name].map((result, i) => of(result) / of(runs.off[i])), 50), 2)
    const cpu = (result: Awaited<ReturnType<typeof run>>) => result.cpuMsPerRequest
    const rps = (result: Awaited<ReturnType<typeof run>>) => result.rps
    return {
      cpu_ms_per_request_off: round(percentile(runs.off.map(cpu), 50), 3),
      all_traces_cpu_ratio: ratio("all", cpu),
      all_traces_throughput: ratio("all", rps),
      tenth_of_traces_cpu_ratio: ratio("tenth", cpu),
      tenth_of_traces_throughput: ratio("tenth", rps),
      no_traces_cpu_ratio: ratio("none", cpu),
      no_traces_throughput: ratio("none", rps),
      exported_kib: round(exported / 1024, 0)
    }
  } finally {
    await Promise.all(Object.values(servers).map((server) => server.stop()))
    sink.close()
  }
}
