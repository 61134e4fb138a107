import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Effect, Layer, Stream } from "effect"
import { HttpRouter, HttpServerRequest, HttpServerResponse } from "effect/http"
import { readFileSync } from "node:fs"
import { createServer } from "node:http"
const replay = readFileSync(process.env.REPLAY_FILE!)
const Route = HttpRouter.add("POST", "/process", Effect.gen(function*() {
  const request = yield* HttpServerRequest.HttpServerRequest
  JSON.parse(yield* request.text)
  return HttpServerResponse.stream(Stream.make(replay), { contentType: "text/event-stream" })
}).pipe(Effect.orDie))
Layer.launch(HttpRouter.serve(Route, { disableLogger: true }).pipe(Layer.provide(NodeHttpServer.layer(createServer, { port: Number(process.env.PORT ?? 0), host: "127.0.0.1" })))).pipe(NodeRuntime.runMain)
