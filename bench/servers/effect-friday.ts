/**
 * The Effect floor for Friday: Effect's HTTP server and `Stream` computing
 * Friday's reply per request (bench/servers/fridayReply.ts) with no agentapp
 * code: at once as one body, or paced by FRIDAY_DELAY_MS, one chunk per
 * event. What agentapp's Friday would cost if agentapp cost nothing.
 *
 *   POST /process   Friday's reply
 *   GET /readiness  200
 */
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Effect, Layer, Stream } from "effect"
import { HttpRouter, HttpServerRequest, HttpServerResponse } from "effect/http"
import { createServer } from "node:http"
import { delayMs, fridayEvents, pausesAfter, sseFrame, sseText } from "./fridayReply.ts"
import { sseHeaders } from "./rawServer.ts"

const encoder = new TextEncoder()
const Process = HttpRouter.add("POST", "/process", Effect.gen(function*() {
  const request = yield* HttpServerRequest.HttpServerRequest
  const events = fridayEvents(yield* request.json)
  return delayMs === 0
    ? HttpServerResponse.text(sseText(events), { contentType: sseHeaders["content-type"], headers: sseHeaders })
    : HttpServerResponse.stream(
      Stream.fromIterable(events).pipe(
        Stream.tap((event) => pausesAfter(event) ? Effect.sleep(delayMs) : Effect.void),
        Stream.map((event) => encoder.encode(sseFrame(event)))
      ),
      { contentType: sseHeaders["content-type"], headers: sseHeaders }
    )
}).pipe(Effect.orDie))
const Readiness = HttpRouter.add("GET", "/readiness", HttpServerResponse.json({ status: "ready" }))
Layer.launch(HttpRouter.serve(Layer.mergeAll(Process, Readiness), { disableLogger: true }).pipe(
  Layer.provide(NodeHttpServer.layer(createServer, { port: Number(process.env.PORT ?? 0), host: "127.0.0.1" }))
)).pipe(NodeRuntime.runMain)
