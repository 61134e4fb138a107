/** Probe: the Runner and SSE framing in a bare Effect route, without AgentApp's per-request services. */
import { AgentApp, Protocol, Runner, Sse } from "@agentapp/core"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Effect, Layer, Schema, Stream } from "effect"
import { HttpRouter, HttpServerRequest } from "effect/http"
import { createServer } from "node:http"
const frames = Number(process.env.FRAMES ?? 2)
const decode = Schema.decodeUnknownEffect(Protocol.AgentRequest)
const Route = HttpRouter.add("POST", "/process", Effect.gen(function*() {
  const request = yield* HttpServerRequest.HttpServerRequest
  const body = yield* decode(JSON.parse(yield* request.text))
  const outputs = Stream.fromIterable(Array.from({ length: frames }, (_, n) => AgentApp.text(`tick ${n} `)))
  const events = Runner.events({ request: body, responseId: "r", sessionId: "s", userId: "u" }, outputs)
  return Sse.response(Sse.encode(events, Sse.eventFrame))
}).pipe(Effect.orDie))
Layer.launch(HttpRouter.serve(Route, { disableLogger: true }).pipe(Layer.provide(NodeHttpServer.layer(createServer, { port: Number(process.env.PORT ?? 0), host: "127.0.0.1" })))).pipe(NodeRuntime.runMain)
