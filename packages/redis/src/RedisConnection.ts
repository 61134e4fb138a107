/**
 * The ioredis connections of one process: a command connection and one
 * subscriber connection shared by every listener. Both reconnect by
 * themselves; commands fail at once while Redis is away (no offline queue),
 * so that callers see the outage instead of waiting on it.
 *
 * @since 0.1.0
 */
import { Config, Context, Duration, Effect, Layer, Option, Redacted, Schema } from "effect"
import { Redis, type RedisOptions } from "ioredis"
import { reconnectDelay } from "./internal/reconnect.ts"

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
  /** `redis://[user:password@]host:port[/db]`; redacted when it holds a password (`Config.Redacted`). */
  readonly url: string | Redacted.Redacted<string>
  /** Prefix of every key and channel. Default `"agentapp"`. */
  readonly prefix?: string | undefined
  /** Extra ioredis options, merged over the defaults (replies keep their default mapping). */
  readonly redis?: Omit<RedisOptions, "replyMapping"> | undefined
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
   * arguments, its reply checked. It is sent by its SHA (EVALSHA), its text
   * only the first time on a connection and whenever Redis has forgotten it.
   */
  readonly script: <A>(script: Script<A>) => (...keysAndArgs: ReadonlyArray<string | number>) => Effect.Effect<A, RedisError>
}>()("@agentapp/redis/RedisConnection") {}

/**
 * A Lua script: its text, how many of its arguments are keys, and the check
 * of its reply.
 *
 * @since 0.1.0
 */
export interface Script<A> {
  readonly lua: string
  readonly keys: number
  readonly reply: (reply: unknown) => reply is A
}

/**
 * The commands of a connection with its failures turned into a backend's own
 * error: the one place a backend maps Redis errors.
 *
 * @since 0.1.0
 */
export const commands = <E>(redis: RedisConnection["Service"], toError: (error: RedisError) => E) => ({
  use: <A>(f: (client: Redis) => Promise<A>): Effect.Effect<A, E> => Effect.mapError(redis.use(f), toError),
  script: <A>(script: Script<A>) => {
    const call = redis.script(script)
    return (...keysAndArgs: ReadonlyArray<string | number>): Effect.Effect<A, E> =>
      Effect.mapError(call(...keysAndArgs), toError)
  },
  ping: Effect.mapError(redis.ping, toError)
})

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

const capReply = (reply: unknown) => String(JSON.stringify(reply)).slice(0, 100)


/**
 * Opens the connections; they are closed when the scope ends. It does not
 * wait for Redis: a server may start while Redis is down, and it connects
 * when Redis comes up. Connection loss and recovery are logged once each.
 *
 * @since 0.1.0
 */
export const make = Effect.fnUntraced(function*(options: Options) {
  const prefix = options.prefix ?? "agentapp"
  const url = Redacted.isRedacted(options.url) ? Redacted.value(options.url) : options.url
  const where = redactUrl(url)
  const runFork = Effect.runForkWith(yield* Effect.context<never>())
  const connect = (role: string) =>
    Effect.acquireRelease(
      Effect.sync(() => {
        const redis = new Redis(url, {
          // commands issued in the same tick (the runs of concurrent requests) leave in one write
          enableAutoPipelining: role === "client",
          enableOfflineQueue: false,
          maxRetriesPerRequest: 1,
          connectTimeout: 2_000,
          retryStrategy: reconnectDelay,
          ...options.redis
        })
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
  const sent = new WeakMap<Script<unknown>, string>()
  let defined = 0
  const script = <A>(definition: Script<A>) => {
    let name = sent.get(definition)
    if (name === undefined) {
      name = `agentappScript${defined++}`
      // ioredis's custom commands: EVALSHA, falling back to EVAL on NOSCRIPT
      client.defineCommand(name, { lua: definition.lua, numberOfKeys: definition.keys })
      sent.set(definition, name)
    }
    const command = Reflect.get(client, name) as (...args: Array<string | number>) => Promise<unknown>
    return (...keysAndArgs: ReadonlyArray<string | number>): Effect.Effect<A, RedisError> =>
      Effect.flatMap(use((redis) => command.apply(redis, [...keysAndArgs])), (reply) =>
        definition.reply(reply)
          ? Effect.succeed(reply)
          : Effect.fail(new RedisError({ message: `Redis at ${where}: a script replied ${capReply(reply)}` })))
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
 * The connection from configuration, the way Effect's own `layerConfig`s
 * take it: a `Config` of the options, or a record of `Config`s.
 *
 * @example
 * ```ts
 * RedisConnection.layerConfig({
 *   url: Config.Redacted("REDIS_URL"),
 *   prefix: Config.String("REDIS_PREFIX").pipe(Config.withDefault("agentapp"))
 * })
 * ```
 *
 * @since 0.1.0
 */
export const layerConfig = (options: Config.Wrap<Options>): Layer.Layer<RedisConnection, Config.ConfigError> =>
  Layer.effect(RedisConnection, Effect.flatMap(Config.unwrap(options), make))
