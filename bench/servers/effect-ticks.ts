/**
 * The Effect floor for a stream that waits: Effect 4's HTTP server streaming
 * the same frames as bench/servers/raw.ts (MODE=ticks), from an Effect
 * `Stream` on a schedule, with no agentapp in between. What agentapp adds to
 * a frame is its cost above this server; what this server adds above raw
 * `node:http` is the platform's.
 *
 *   POST /process   FRAMES frames, INTERVAL_MS apart
 *   GET /readiness  200
 */
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Duration, Effect, Layer, Schedule, Stream } from "effect"
import { HttpRouter, HttpServerResponse } from "effect/http"
import { createServer } from "node:http"
import { tickFrame } from "./rawServer.ts"

const frames = Number(process.env.FRAMES ?? 20)
const interval = Duration.millis(Number(process.env.INTERVAL_MS ?? 10))

const ticks = Stream.fromSchedule(Schedule.spaced(interval)).pipe(
  Stream.take(frames),
  Stream.map((n) => Buffer.from(tickFrame(n)))
)

const Routes = Layer.mergeAll(
  HttpRouter.add(
    "POST",
    "/process",
    Effect.succeed(HttpServerResponse.stream(ticks, {
      contentType: "text/event-stream",
      headers: { "cache-control": "no-cache", "x-accel-buffering": "no" }
    }))
  ),
  HttpRouter.add("GET", "/readiness", Effect.succeed(HttpServerResponse.jsonUnsafe({ status: "ready" })))
)

Layer.launch(
  HttpRouter.serve(Routes, { disableLogger: true }).pipe(
    Layer.provide(NodeHttpServer.layer(createServer, { port: Number(process.env.PORT ?? 0), host: "127.0.0.1" }))
  )
).pipe(NodeRuntime.runMain)
