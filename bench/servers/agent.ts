/**
 * The server under test for the streaming scenarios: the agent emits FRAMES
 * text deltas, INTERVAL_MS apart (`ticks`), or forever (`endless`, for
 * interrupts). It runs on memory, or on Redis when REDIS_URL is set.
 */
import { AgentApp } from "@agentapp/core"
import { AgentAppRedis } from "@agentapp/redis"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { Duration, Layer, Schedule, Stream } from "effect"
import { createServer } from "node:http"

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

const Query = App.query((request) =>
  request.mode === "endless" ? ticks : process.env.MODE === "burst" ? burst : Stream.take(ticks, frames)
)

const backends = process.env.REDIS_URL ? AgentAppRedis.layer({ url: process.env.REDIS_URL }) : AgentApp.layerMemory

AgentApp.runMain(App.serve(Query).pipe(
  Layer.provide(NodeHttpServer.layer(createServer, { port: Number(process.env.PORT ?? 0), host: "127.0.0.1" })),
  Layer.provide(backends)
))
