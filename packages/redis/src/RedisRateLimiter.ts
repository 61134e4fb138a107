/**
 * Effect's `RateLimiterStore` on the app's Redis connection: the per-user
 * request rate (`limits.requestsPerMinute`) counted once for all nodes, in
 * one script call per request.
 *
 * @since 0.1.0
 */
import { Effect, Layer } from "effect"
import { RateLimiter, Redis } from "effect/persistence"
import { RedisConnection } from "./RedisConnection.ts"

/**
 * The store, its keys under `<prefix>:rate:`.
 *
 * @since 0.1.0
 */
export const layer: Layer.Layer<RateLimiter.RateLimiterStore, never, RedisConnection> = Layer.effect(
  RateLimiter.RateLimiterStore,
  Effect.gen(function*() {
    const connection = yield* RedisConnection
    const send = <A = unknown>(command: string, ...args: ReadonlyArray<string>) =>
      Effect.tryPromise({
        try: () => connection.client.call(command, ...args) as Promise<A>,
        catch: (cause) => new Redis.RedisError({ cause })
      })
    // the store only sends commands and scripts: no subscription, no reserved connection
    const unsupported = Effect.fail(new Redis.RedisError({ cause: new Error("not used by the rate limiter") }))
    const redis = yield* Redis.make({ send, subscribe: () => unsupported, connect: unsupported })
    return yield* Effect.provideService(
      RateLimiter.makeStoreRedis({ prefix: `${connection.prefix}:rate:` }),
      Redis.Redis,
      redis
    )
  })
)
