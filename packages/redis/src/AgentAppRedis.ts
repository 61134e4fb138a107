/**
 * The distributed backends in one layer: the drop-in replacement for
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
import type { Interrupt, SessionStore } from "@agentapp/core"
import { type Config, Layer } from "effect"
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
}

const backends = (sessions?: RedisSessionStore.Options) =>
  Layer.merge(RedisInterrupt.layer, RedisSessionStore.layer(sessions))

/**
 * Interrupts and sessions on the Redis at `url`.
 *
 * @since 0.1.0
 */
export const layer = (
  options: Options
): Layer.Layer<Interrupt.InterruptBackend | SessionStore.SessionStore | RedisConnection.RedisConnection> =>
  backends(options.sessions).pipe(Layer.provideMerge(RedisConnection.layer(options)))

/**
 * Interrupts and sessions on the Redis that `REDIS_URL` names.
 *
 * @since 0.1.0
 */
export const layerConfig: Layer.Layer<
  Interrupt.InterruptBackend | SessionStore.SessionStore | RedisConnection.RedisConnection,
  Config.ConfigError
> = backends().pipe(Layer.provideMerge(RedisConnection.layerConfig))
