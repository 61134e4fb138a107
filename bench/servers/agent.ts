/**
 * The server under test for the streaming scenarios: the agent emits FRAMES
 * text deltas, INTERVAL_MS apart (`ticks`), or forever (`endless`, for
 * interrupts). It runs on memory, or on Redis when REDIS_URL is set.
 *
 * TRACE_STOPS=1 records when each `POST /stop` reaches the app and when each
 * endless run is interrupted (epoch ms, sub-millisecond), and serves and
 * clears them on `GET /bench/trace`, so that the bench can tell a stop's
 * time in the server from its time in getting there. It records the
 * garbage collector's pauses too (start and end, epoch ms), so that the bench
 * can tell how much of a stop's wait was spent in them.
 */
import { AgentApp } from "@agentapp/core"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { Duration, Effect, Layer, Schedule, Stream } from "effect"
import { HttpRouter, HttpServerRequest, HttpServerResponse } from "effect/http"
import { createServer } from "node:http"
import { PerformanceObserver } from "node:perf_hooks"

const frames = Number(process.env.FRAMES ?? 20)
const interval = Duration.millis(Number(process.env.INTERVAL_MS ?? 10))

const App = AgentApp.make({
  name: "Bench",
  shutdownGracePeriod: Duration.seconds(1),
  // LEAN=1: no session history and short-lived run states, to see what retention costs
  sessions: process.env.LEAN === "1" ? { history: false, stateTtl: Duration.seconds(1) } : undefined
})

const ticks = Stream.fromSchedule(Schedule.spaced(interval)).pipe(Stream.map((n) => AgentApp.text(`tick ${n} `)))

/** `burst`: FRAMES deltas at once, as one chunk. */
const burst = Stream.fromIterable(Array.from({ length: frames }, (_, n) => AgentApp.text(`tick ${n} `)))

const tracing = process.env.TRACE_STOPS === "1"
const now = () => performance.timeOrigin + performance.now()
const emptyTrace = () => ({ stops: [] as Array<number>, interrupted: [] as Array<number>, gc: [] as Array<[number, number]> })
let trace = emptyTrace()
if (tracing) {
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const start = performance.timeOrigin + entry.startTime
      trace.gc.push([start, start + entry.duration])
    }
  }).observe({ entryTypes: ["gc"] })
}

const endless = tracing
  ? Stream.onExit(ticks, (exit) => Effect.sync(() => exit._tag === "Failure" && trace.interrupted.push(now())))
  : ticks

const Query = App.query((request) =>
  request.mode === "endless" ? endless : process.env.MODE === "burst" ? burst : Stream.take(ticks, frames)
)

const Trace = Layer.mergeAll(
  HttpRouter.middleware((effect) =>
    Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) => {
      if (request.url === "/stop") trace.stops.push(now())
      return effect
    }), { global: true }),
  HttpRouter.add(
    "GET",
    "/bench/trace",
    Effect.sync(() => {
      const taken = trace
      trace = emptyTrace()
      return HttpServerResponse.jsonUnsafe(taken)
    })
  )
)

// @agentapp/redis is loaded only for a Redis server: in a process that loads ioredis after Effect's
// modules, V8 keeps far more of every request alive through young collections (RESULTS.md, §4),
// which a memory server must not pay for a client it does not use
const backends = process.env.REDIS_URL
  ? (await import("@agentapp/redis")).AgentAppRedis.layer({ url: process.env.REDIS_URL })
  : AgentApp.layerMemory

AgentApp.runMain(App.serve(tracing ? Layer.merge(Query, Trace) : Query).pipe(
  Layer.provide(NodeHttpServer.layer(createServer, { port: Number(process.env.PORT ?? 0), host: "127.0.0.1" })),
  Layer.provide(backends)
))
