/**
 * 14. Tracing: the server's CPU per request and throughput of the same Friday
 * request (no delay) with traces, metrics and logs exported over OTLP (to a
 * sink in this process that reads and drops them) against no endpoint, the
 * two servers alternated; target: ≤ 10% with tracing on.
 */
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import { load, round, type Server } from "./lib.ts"

type Start = (script: string, env?: Record<string, string>) => Promise<Server>

const body = JSON.stringify({ input: [{ role: "user", content: [{ type: "text", text: "Hello Friday" }] }] })
const mean = (values: ReadonlyArray<number>) => values.reduce((a, b) => a + b, 0) / values.length

export const telemetryBench = async (start: Start, quick: boolean) => {
  let exported = 0
  const sink = http.createServer((request, reply) => {
    request.on("data", (chunk: Buffer) => (exported += chunk.length))
    request.on("end", () => reply.writeHead(200, { "content-type": "application/json" }).end("{}"))
  })
  await new Promise<void>((resolve) => sink.listen(0, "127.0.0.1", resolve))
  const endpoint = `http://127.0.0.1:${(sink.address() as AddressInfo).port}`
  const off = await start("examples/main.ts", { FRIDAY_DELAY_MS: "0" })
  const on = await start("examples/main.ts", { FRIDAY_DELAY_MS: "0", OTEL_EXPORTER_OTLP_ENDPOINT: endpoint })
  try {
    const seconds = quick ? 3 : 5
    const run = async (server: Server) => {
      await load(server, { path: "/process", body, connections: 16, seconds: 1 })
      const result = await load(server, { path: "/process", body, connections: 16, seconds })
      if (result.non2xx > 0 || result.errors > 0) throw new Error(`${result.non2xx} non-2xx, ${result.errors} errors`)
      return result
    }
    const offRuns: Array<Awaited<ReturnType<typeof run>>> = []
    const onRuns: Array<Awaited<ReturnType<typeof run>>> = []
    // alternated, as the machine's speed drifts by more than the difference
    for (let i = 0; i < (quick ? 1 : 3); i++) {
      offRuns.push(await run(off))
      onRuns.push(await run(on), await run(on))
      offRuns.push(await run(off))
    }
    if (exported === 0) throw new Error("nothing was exported with tracing on")
    const cpuOff = mean(offRuns.map((result) => result.cpuMsPerRequest))
    const cpuOn = mean(onRuns.map((result) => result.cpuMsPerRequest))
    return {
      cpu_ms_per_request_off: round(cpuOff, 3),
      cpu_ms_per_request_on: round(cpuOn, 3),
      on_to_off_cpu_ratio: round(cpuOn / cpuOff, 2),
      rps_off: round(mean(offRuns.map((result) => result.rps)), 0),
      rps_on: round(mean(onRuns.map((result) => result.rps)), 0),
      on_to_off_throughput: round(mean(onRuns.map((result) => result.rps)) / mean(offRuns.map((result) => result.rps)), 2),
      exported_kib: round(exported / 1024, 0)
    }
  } finally {
    await Promise.all([on.stop(), off.stop()])
    sink.close()
  }
}
