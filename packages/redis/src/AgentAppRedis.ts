/**
 * The distributed backends in one layer (interrupts, sessions, and the
 * BullMQ task queue): the drop-in replacement for
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
import type { Interrupt, SessionStore, TaskQueue } from "@agentapp/core"
import { type Config, Effect, Layer } from "effect"
import * as BullTaskQueue from "./BullTaskQueue.ts"
import * as RedisConnection from "./RedisConnection.ts"
import * as RedisInterrupt from "./RedisInterrupt.ts"
import * as RedisSessionStore from "./RedisSessionStore.ts"

/**
 * Options of {@link layer}.
 *
 * @since 0.1.0
 */
export interface Options extends RedisConnection.Options {
  readonly sessions?: RedisSessionStore.Options | undefined
  /** BullMQ options of the task queue (the URL is shared). */
  readonly tasks?: Omit<BullTaskQueue.Options, "url"> | undefined
}

const backends = (url: string, options?: Pick<Options, "sessions" | "tasks">) =>
  Layer.mergeAll(
    RedisInterrupt.layer(),
    RedisSessionStore.layer(options?.sessions),
    BullTaskQueue.layer({ url, ...options?.tasks })
  )

/**
 * Interrupts and sessions on the Redis at `url`.
 *
 * @since 0.1.0
 */
export const layer = (
  options: Options
): Layer.Layer<
  Interrupt.InterruptBackend | SessionStore.SessionStore | TaskQueue.TaskQueue | RedisConnection.RedisConnection
> => backends(options.url, options).pipe(Layer.provideMerge(RedisConnection.layer(options)))

/**
 * Interrupts and sessions on the Redis that `REDIS_URL` names.
 *
 * @since 0.1.0
 */
export const layerConfig: Layer.Layer<
  Interrupt.InterruptBackend | SessionStore.SessionStore | TaskQueue.TaskQueue | RedisConnection.RedisConnection,
  Config.ConfigError
> = Layer.unwrap(Effect.gen(function*() {
  const { prefix, url } = yield* RedisConnection.config
  return layer({ url, prefix, tasks: { prefix: `${prefix}:bull` } })
}))
