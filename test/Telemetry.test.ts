/**
 * OpenTelemetry: `npm start` with `OTEL_EXPORTER_OTLP_ENDPOINT` pointing at a
 * local OTLP/HTTP receiver exports a run's span tree (request → run → the
 * handler's own span), a stop's span, lease renewals, the runs' metrics, and
 * logs with their trace id; without the variable it sends nothing.
 */
import { Telemetry } from "@agentapp/core"
import { ConfigProvider, Effect, Layer, Tracer } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { startOtlpReceiver } from "./support/otlp.ts"
import { type ServerProcess, startServer, waitFor, within } from "./support/server.ts"

const post = (url: string, body: unknown) =>
  fetch(`${url}/process`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) })
const say = (text: string, extra: Record<string, unknown> = {}) => ({ input: [{ role: "user", content: [{ type: "text", text }] }], ...extra })

describe("OpenTelemetry over OTLP", () => {
  let receiver: Awaited<ReturnType<typeof startOtlpReceiver>>
  let server: ServerProcess
  beforeAll(async () => {
    receiver = await startOtlpReceiver()
    // short export intervals and lease, so that the test waits tenths of a second for what a user waits seconds
    server = await startServer("npm", ["start", "--silent"], {
      env: {
        FRIDAY_DELAY_MS: "5",
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
        OTEL_BSP_SCHEDULE_DELAY: "100",
        OTEL_BLRP_SCHEDULE_DELAY: "100",
        OTEL_METRIC_EXPORT_INTERVAL: "300",
        LEASE_TTL_MS: "600"
      }
    })
  })
  afterAll(async () => {
    server?.kill("SIGTERM")
    if (server) await within(10_000, "the server to exit", server.exited)
    await receiver?.close()
  })

  it("a run is a span under its request's, with the handler's own spans under it", async () => {
    const events: Array<any> = await (await post(server.url, say("Hello", { stream: false }))).json().then((response: any) => [response])
    const responseId = events[0].id
    await waitFor("the run's span", async () => receiver.spans.some((span) => span.attributes["agentapp.response_id"] === responseId))
    const run = receiver.spans.find((span) => span.attributes["agentapp.response_id"] === responseId)!
    expect(run.name).toBe("agentapp.run")
    expect(run.attributes["agentapp.status"]).toBe("completed")
    expect(typeof run.attributes["agentapp.session_id"]).toBe("string")
    await waitFor("the request's and the handler's spans", async () =>
      receiver.spans.some((span) => span.spanId === run.parentSpanId) &&
      receiver.spans.some((span) => span.parentSpanId === run.spanId))
    const request = receiver.spans.find((span) => span.spanId === run.parentSpanId)!
    expect(request.name).toBe("POST")
    expect(request.attributes["url.path"]).toBe("/process")
    const children = receiver.spans.filter((span) => span.parentSpanId === run.spanId).map((span) => span.name)
    expect(children).toContain("Toolbox.wordStats")
    expect(new Set([request.traceId, run.traceId])).toEqual(new Set([run.traceId]))
  })

  it("a stop is a span, the stopped run's span says canceled, and lease renewals are spans", async () => {
    const session = `s-${crypto.randomUUID()}`
    const started: any = await (await post(server.url, say("Tell me a long story", { session_id: session, background: true }))).json()
    // the lease of 600 ms is renewed every 200 ms while the story goes on
    await waitFor("a lease renewal", async () => receiver.spans.some((span) => span.name === "agentapp.lease.renew"))
    const stop = await fetch(`${server.url}/stop`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ session_id: session }) })
    expect(stop.status).toBe(200)
    await waitFor("the stop's span", async () => receiver.spans.some((span) => span.name === "Interrupt.stop" && span.attributes["agentapp.session_id"] === session))
    await waitFor("the run's span", async () =>
      receiver.spans.some((span) => span.attributes["agentapp.response_id"] === started.id && span.attributes["agentapp.status"] === "canceled"))
  })

  it("metrics arrive: runs by status, runs in flight, time to first event, stop latency", async () => {
    await waitFor("the metrics", async () =>
      ["agentapp_runs_total", "agentapp_runs_in_flight", "agentapp_time_to_first_event_ms", "agentapp_stop_latency_ms"].every((name) => receiver.metrics.has(name)), 10_000)
    const total = receiver.metrics.get("agentapp_runs_total")!.at(-1)
    const points: Array<any> = total.sum.dataPoints
    const completed = points.find((point) => point.attributes.some((a: any) => a.key === "status" && a.value.stringValue === "completed"))
    expect(Number(completed.asDouble ?? completed.asInt)).toBeGreaterThanOrEqual(1)
    const firstEvent = receiver.metrics.get("agentapp_time_to_first_event_ms")!.at(-1)
    expect(Number(firstEvent.histogram.dataPoints[0].count)).toBeGreaterThanOrEqual(2)
  })

  it("logs carry their span's trace id", async () => {
    await waitFor("the story's log", async () => receiver.logs.some((log) => String(log.body).includes("story interrupted")))
    const story = receiver.logs.find((log) => String(log.body).includes("story interrupted"))!
    expect(story.traceId).toMatch(/^[0-9a-f]{32}$/)
    expect(receiver.spans.some((span) => span.traceId === story.traceId && span.name === "agentapp.run")).toBe(true)
  })
})

/** Friday under a sampler, exporting to a receiver of its own; `check` runs against both. */
const withSampler = async (
  env: Record<string, string>,
  check: (server: ServerProcess, receiver: Awaited<ReturnType<typeof startOtlpReceiver>>) => Promise<void>
) => {
  const receiver = await startOtlpReceiver()
  // exports every 50/300 ms instead of 5 s/60 s, so that the test waits for them in seconds; what is sent is the same
  const server = await startServer("npm", ["start", "--silent"], {
    env: { FRIDAY_DELAY_MS: "0", OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_BSP_SCHEDULE_DELAY: "50", OTEL_METRIC_EXPORT_INTERVAL: "300", ...env }
  })
  try {
    await check(server, receiver)
  } finally {
    server.kill("SIGTERM")
    await within(10_000, "the server to exit", server.exited)
    await receiver.close()
  }
}
const traced = (url: string, traceparent: string) =>
  fetch(`${url}/process`, {
    method: "POST",
    headers: { "content-type": "application/json", traceparent },
    body: JSON.stringify(say("Hello", { stream: false }))
  })
const completedRuns = (receiver: Awaited<ReturnType<typeof startOtlpReceiver>>) => {
  const points: Array<any> = receiver.metrics.get("agentapp_runs_total")?.at(-1)?.sum.dataPoints ?? []
  const completed = points.find((point) => point.attributes.some((a: any) => a.key === "status" && a.value.stringValue === "completed"))
  return completed === undefined ? 0 : Number(completed.asDouble ?? completed.asInt)
}

describe("sampling (OTEL_TRACES_SAMPLER, OTEL_TRACES_SAMPLER_ARG)", () => {
  it.each([
    { name: "parentbased_always_off", env: { OTEL_TRACES_SAMPLER: "parentbased_always_off" } },
    { name: "parentbased_traceidratio 0", env: { OTEL_TRACES_SAMPLER: "parentbased_traceidratio", OTEL_TRACES_SAMPLER_ARG: "0" } }
  ])("$name: no trace of its own, metrics all the same; a caller's sampled traceparent is followed", async ({ env }) => {
    await withSampler(env, async (server, receiver) => {
      for (let i = 0; i < 3; i++) expect((await post(server.url, say("Hello", { stream: false }))).status).toBe(200)
      // a caller that records its trace: the request, the run and the handler's span join it
      const traceId = crypto.randomUUID().replaceAll("-", "")
      const callerSpan = "00f067aa0ba902b7"
      expect((await traced(server.url, `00-${traceId}-${callerSpan}-01`)).status).toBe(200)
      await waitFor("the four runs counted", async () => completedRuns(receiver) >= 4, 10_000)
      await waitFor("the caller's trace", async () => receiver.spans.filter((span) => span.traceId === traceId).length >= 3)
      const names = receiver.spans.map((span) => span.name).sort()
      // only the caller's trace was recorded: one request, one run, one handler span
      expect(names).toEqual(["POST", "Toolbox.wordStats", "agentapp.run"])
      expect(new Set(receiver.spans.map((span) => span.traceId))).toEqual(new Set([traceId]))
      expect(receiver.spans.find((span) => span.name === "POST")!.parentSpanId).toBe(callerSpan)
    })
  })

  it("traceidratio: the trace id decides, the same on every node; a bad sampler stops the start with its name", async () => {
    await withSampler({ OTEL_TRACES_SAMPLER: "traceidratio", OTEL_TRACES_SAMPLER_ARG: "0.5" }, async (server, receiver) => {
      // last 8 hex digits under half of 2^32: recorded even though the caller did not; over it: not, though it did
      const kept = `${"ab".repeat(12)}00000001`
      const dropped = `${"cd".repeat(12)}ffffffff`
      expect((await traced(server.url, `00-${kept}-00f067aa0ba902b7-00`)).status).toBe(200)
      expect((await traced(server.url, `00-${dropped}-00f067aa0ba902b7-01`)).status).toBe(200)
      await waitFor("both runs counted", async () => completedRuns(receiver) >= 2, 10_000)
      await waitFor("the kept trace", async () => receiver.spans.filter((span) => span.traceId === kept).length >= 3)
      // (the app's own background traces, lease renewals, are drawn at 0.5 too: only the requests' are checked)
      const requests = receiver.spans.filter((span) => span.traceId === kept || span.traceId === dropped)
      expect(requests.map((span) => span.name).sort()).toEqual(["POST", "Toolbox.wordStats", "agentapp.run"])
      expect(new Set(requests.map((span) => span.traceId))).toEqual(new Set([kept]))
    })
    const bad = (env: Record<string, string>) =>
      Effect.runPromiseExit(Effect.scoped(Layer.build(Telemetry.layer())).pipe(
        Effect.provide(ConfigProvider.layer(ConfigProvider.fromUnknown({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:1", ...env })))
      ))
    for (const env of [{ OTEL_TRACES_SAMPLER: "sometimes" }, { OTEL_TRACES_SAMPLER: "traceidratio", OTEL_TRACES_SAMPLER_ARG: "2" }]) {
      const exit = await bad(env)
      expect(exit._tag).toBe("Failure")
      expect(String(exit._tag === "Failure" ? exit.cause : "")).toContain(Object.keys(env).at(-1))
    }
  })
})

describe("telemetry off", () => {
  it("without an endpoint Telemetry.layer installs no tracer, so agentapp makes no span and measures no run", async () => {
    const tracerUnder = (env: Record<string, string>) =>
      Effect.runPromise(Effect.withFiber((fiber) => Effect.succeed(fiber.getRef(Tracer.Tracer) === Tracer.nativeTracer)).pipe(
        Effect.provide(Telemetry.layer()),
        Effect.provide(ConfigProvider.layer(ConfigProvider.fromUnknown(env)))
      ))
    expect(await tracerUnder({})).toBe(true)
    expect(await tracerUnder({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:1" })).toBe(false)
    expect(await tracerUnder({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:1", OTEL_SDK_DISABLED: "true" })).toBe(true)
  })

  it("OTEL_SDK_DISABLED=true with an endpoint: npm start sends nothing", async () => {
    const receiver = await startOtlpReceiver()
    const server = await startServer("npm", ["start", "--silent"], {
      env: { FRIDAY_DELAY_MS: "0", OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_SDK_DISABLED: "true", OTEL_BSP_SCHEDULE_DELAY: "50", OTEL_METRIC_EXPORT_INTERVAL: "50" }
    })
    try {
      for (let i = 0; i < 5; i++) expect((await post(server.url, say("Hello", { stream: false }))).status).toBe(200)
      // an absence: waited for ten export intervals of an exporter, were one installed
      await new Promise((resolve) => setTimeout(resolve, 500))
      expect(receiver.requests()).toBe(0)
    } finally {
      server.kill("SIGTERM")
      await within(10_000, "the server to exit", server.exited)
      await receiver.close()
    }
  })
})
