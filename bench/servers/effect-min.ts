/**
 * The Effect floor: Effect's HTTP server replaying one recorded reply, no
 * agentapp code. `TRACER=noop` runs it under a tracer that records nothing
 * (Effect's in-memory spans, no export) and `TRACER=otlp` under Effect's OTLP
 * exporters (`OTEL_EXPORTER_OTLP_ENDPOINT`): what a traced request costs
 * Effect itself (scenario 14).
 */
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Effect, Layer, Stream, Tracer } from "effect"
import { FetchHttpClient, HttpRouter, HttpServerRequest, HttpServerResponse } from "effect/http"
import { Otlp, OtlpSerialization } from "effect/observability"
import { readFileSync } from "node:fs"
import { createServer } from "node:http"
const replay = readFileSync(process.env.REPLAY_FILE!)
const Route = HttpRouter.add("POST", "/process", Effect.gen(function*() {
  const request = yield* HttpServerRequest.HttpServerRequest
  JSON.parse(yield* request.text)
  return HttpServerResponse.stream(Stream.make(replay), { contentType: "text/event-stream" })
}).pipe(Effect.orDie))
const tracing = process.env.TRACER === "noop"
  // not the native tracer by identity, so Effect's HTTP server takes its traced path
  ? Layer.succeed(Tracer.Tracer, Tracer.make({ span: (options) => new Tracer.NativeSpan(options) }))
  : process.env.TRACER === "otlp"
  ? Otlp.layerFromConfig({ resource: { serviceName: "effect-min" } }).pipe(
    Layer.provide([FetchHttpClient.layer, OtlpSerialization.layerJson])
  )
  : Layer.empty
Layer.launch(HttpRouter.serve(Route, { disableLogger: true }).pipe(
  Layer.provide(tracing),
  Layer.provide(NodeHttpServer.layer(createServer, { port: Number(process.env.PORT ?? 0), host: "127.0.0.1" }))
)).pipe(NodeRuntime.runMain)
