/**
 * The ioredis connections of one process: a command connection and one
 * subscriber connection shared by every listener. Both reconnect by
 * themselves; commands fail at once while Redis is away (no offline queue),
 * so that callers see the outage instead of waiting on it.
 *
 * @since 0.1.0
 */
import { Config, Context, Duration, Effect, Layer, Option, Schema } from "effect"
import { Redis, type RedisOptions } from "ioredis"

/**
 * A Redis command failed, or Redis is unreachable.
 *
 * @since 0.1.0
 */
export class RedisError extends Schema.TaggedError<RedisError>()("RedisError", {
  message: Schema.String,
  cause: Schema.optional(Schema.Defect())
}) {}

/**
 * Options of the connection layer.
 *
 * @since 0.1.0
 */
export interface Options {
  /** `redis://[user:password@]host:port[/db]`. */
  readonly url: string
  /** Prefix of every key and channel. Default `"agentapp"`. */
  readonly prefix?: string | undefined
  /** Extra ioredis options, merged over the defaults. */
  readonly redis?: RedisOptions | undefined
}

/**
 * The connections and the key prefix.
 *
 * @since 0.1.0
 */
export class RedisConnection extends Context.Service<RedisConnection, {
  readonly client: Redis
  /** The one subscriber connection of this process. */
  readonly subscriber: Redis
  readonly prefix: string
  /** Runs a command, a failure becoming `RedisError`. */
  readonly use: <A>(f: (client: Redis) => Promise<A>) => Effect.Effect<A, RedisError>
  /** Fails unless Redis answers a PING. */
  readonly ping: Effect.Effect<void, RedisError>
  /**
   * A Lua script on the command connection, called with its keys then its
   * arguments. It is sent by its SHA (EVALSHA), its text only the first time
   * on a connection and whenever Redis has forgotten it.
   */
  readonly script: (
    lua: string,
    numberOfKeys: number
  ) => (...keysAndArgs: ReadonlyArray<string | number>) => Effect.Effect<unknown, RedisError>
}>()("@agentapp/redis/RedisConnection") {}

const startupWait = Duration.seconds(3)

const whenReady = (redis: Redis): Effect.Effect<void> =>
  Effect.callback<void>((resume) => {
    if (redis.status === "ready") return resume(Effect.void)
    const onReady = () => resume(Effect.void)
    redis.once("ready", onReady)
    return Effect.sync(() => redis.off("ready", onReady))
  })

const describe = (cause: unknown) => cause instanceof Error ? cause.message : String(cause)

const redactUrl = (url: string) => url.replace(/\/\/([^@/]*)@/, "//***@")

/**
 * Opens the connections; they are closed when the scope ends. It does not
 * wait for Redis: a server may start while Redis is down, and it connects
 * when Redis comes up. Connection loss and recovery are logged once each.
 *
 * @since 0.1.0
 */
export const make = Effect.fnUntraced(function*(options: Options) {
  const prefix = options.prefix ?? "agentapp"
  const where = redactUrl(options.url)
  const runFork = Effect.runForkWith(yield* Effect.context<never>())
  const connect = (role: string) =>
    Effect.acquireRelease(
      Effect.sync(() => {
        const redisOptions: RedisOptions = {
          // commands issued in the same tick (the runs of concurrent requests) leave in one write
          enableAutoPipelining: role === "client",
          enableOfflineQueue: false,
          maxRetriesPerRequest: 1,
          connectTimeout: 2_000,
          retryStrategy: (times: number) => Math.min(50 * 2 ** Math.min(times, 6), 2_000),
          ...options.redis
        } as RedisOptions
        // ioredis types its options without exactOptionalPropertyTypes in mind
        const redis = new Redis(options.url, redisOptions as never)
        let up: boolean | undefined
        redis.on("ready", () => {
          if (up !== true) runFork(Effect.logInfo(`Redis ${role} connected to ${where}`))
          up = true
        })
        redis.on("error", (cause) => {
          if (up !== false) runFork(Effect.logError(`Redis ${role} unreachable at ${where}: ${describe(cause)}`))
          up = false
        })
        return redis
      }),
      (redis) => Effect.sync(() => redis.disconnect())
    )
  const client = yield* connect("client")
  const subscriber = yield* connect("subscriber")
  // Give Redis a moment to answer, so a healthy start does not fail its first commands;
  // if it stays away, carry on: readiness reports it until it comes back.
  const up = yield* Effect.all([whenReady(client), whenReady(subscriber)], { concurrency: 2 }).pipe(
    Effect.timeoutOption(startupWait),
    Effect.map(Option.isSome)
  )
  if (!up) yield* Effect.logWarning(`Redis at ${where} is not reachable yet; serving, not ready, until it is`)
  const use = <A>(f: (client: Redis) => Promise<A>) =>
    Effect.tryPromise({
      try: () => f(client),
      catch: (cause) => new RedisError({ message: `Redis at ${where}: ${describe(cause)}`, cause })
    })
  let scripts = 0
  const script = (lua: string, numberOfKeys: number) => {
    const name = `agentappScript${scripts++}`
    // ioredis's custom commands: EVALSHA, falling back to EVAL on NOSCRIPT
    client.defineCommand(name, { lua, numberOfKeys })
    const command = (client as unknown as Record<string, (...args: ReadonlyArray<unknown>) => Promise<unknown>>)[name]
    return (...keysAndArgs: ReadonlyArray<string | number>) => use((redis) => command.call(redis, ...keysAndArgs))
  }
  return RedisConnection.of({
    client,
    subscriber,
    prefix,
    use,
    ping: Effect.asVoid(use((redis) => redis.ping())),
    script
  })
})

/**
 * The connection as a layer.
 *
 * @since 0.1.0
 */
export const layer = (options: Options): Layer.Layer<RedisConnection> => Layer.effect(RedisConnection, make(options))

/**
 * The connection settings from configuration: `REDIS_URL` (default
 * `redis://127.0.0.1:6379`) and `REDIS_PREFIX` (default `agentapp`).
 *
 * @since 0.1.0
 */
export const config = Config.all({
  url: Config.String("REDIS_URL").pipe(Config.withDefault("redis://127.0.0.1:6379")),
  prefix: Config.String("REDIS_PREFIX").pipe(Config.withDefault("agentapp"))
})

/**
 * The connection from configuration (see {@link config}).
 *
 * @since 0.1.0
 */
export const layerConfig: Layer.Layer<RedisConnection, Config.ConfigError> = Layer.effect(
  RedisConnection,
  Effect.gen(function*() {
    return yield* make(yield* config)
  })
)
