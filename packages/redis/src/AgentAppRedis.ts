/**
 * The distributed backends in one layer (interrupts, sessions, the
 * BullMQ task queue, the runs' event log and the A2A task store): the drop-in replacement for
 * `AgentApp.layerMemory` when an app runs on several nodes.
 *
 * @example
 * ```ts
 * const Main = Friday.serve(Query).pipe(
 *   Layer.provide(NodeHttpServer.layer(createServer, { port: 8090 })),
 *   Layer.provide(AgentAppRedis.layer({ url: "redis://localhost:6379" }))
 * )
 * ```
 *
 * @since 0.1.0
 */
import type { A2a, Interrupt, RunLog, SessionStore, TaskQueue } from "@agentapp/core"
import { Config, Effect, Layer } from "effect"
import type { RateLimiter } from "effect/persistence"
import * as BullTaskQueue from "./BullTaskQueue.ts"
import * as RedisA2aTaskStore from "./RedisA2aTaskStore.ts"
import * as RedisConnection from "./RedisConnection.ts"
import * as RedisInterrupt from "./RedisInterrupt.ts"
import * as RedisRateLimiter from "./RedisRateLimiter.ts"
import * as RedisRunLog from "./RedisRunLog.ts"
import * as RedisSessionStore from "./RedisSessionStore.ts"

/**
 * Options of {@link layer}.
 *
 * @since 0.1.0
 */
export interface Options extends RedisConnection.Options {
  readonly interrupts?: RedisInterrupt.Options | undefined
  readonly sessions?: RedisSessionStore.Options | undefined
  /** The runs' event log (join and resume from any node); the app's `eventLog: false` leaves it unused. */
  readonly eventLog?: RedisRunLog.Options | undefined
  /** The store of A2A tasks (used when the app serves A2A). */
  readonly a2aTasks?: RedisA2aTaskStore.Options | undefined
  /** BullMQ options of the task queue (the URL is shared; the prefix defaults to `<prefix>:bull`). */
  readonly tasks?: Omit<BullTaskQueue.Options, "url"> | undefined
}

/**
 * Interrupts, sessions and the task queue on the Redis at `url`.
 *
 * @since 0.1.0
 */
export const layer = (
  options: Options
): Layer.Layer<
  | Interrupt.InterruptBackend
  | SessionStore.SessionStore
  | TaskQueue.TaskQueue
  | RunLog.RunLog
  | A2a.TaskStore
  | RateLimiter.RateLimiterStore
  | RedisConnection.RedisConnection
> =>
  Layer.mergeAll(
    RedisRateLimiter.layer,
    RedisInterrupt.layer(options.interrupts),
    RedisSessionStore.layer(options.sessions),
    RedisRunLog.layer(options.eventLog),
    RedisA2aTaskStore.layer(options.a2aTasks),
    BullTaskQueue.layer({ url: options.url, prefix: `${options.prefix ?? "agentapp"}:bull`, ...options.tasks })
  ).pipe(Layer.provideMerge(RedisConnection.layer(options)))

/**
 * {@link layer} from configuration, the way Effect's own `layerConfig`s take
 * it: a `Config` of the options, or a record of `Config`s (the URL redacted,
 * as it may hold a password).
 *
 * @example
 * ```ts
 * AgentAppRedis.layerConfig({
 *   url: Config.Redacted("REDIS_URL"),
 *   prefix: Config.String("REDIS_PREFIX").pipe(Config.withDefault("agentapp"))
 * })
 * ```
 *
 * @since 0.1.0
 */
export const layerConfig = (
  options: Config.Wrap<Options>
): Layer.Layer<
  | Interrupt.InterruptBackend
  | SessionStore.SessionStore
  | TaskQueue.TaskQueue
  | RunLog.RunLog
  | A2a.TaskStore
  | RateLimiter.RateLimiterStore
  | RedisConnection.RedisConnection,
  Config.ConfigError
> => Layer.unwrap(Effect.map(Config.unwrap(options), layer))
