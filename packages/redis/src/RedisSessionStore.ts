/**
 * `SessionStore` on Redis: state and history that every node reads and
 * writes. The state is a JSON string; the history a list trimmed to its
 * newest messages. Both expire when the session is left alone for the TTL.
 *
 * @since 0.1.0
 */
import { Interrupt, type Protocol, SessionStore } from "@agentapp/core"
import { Duration, Effect, Layer, Option } from "effect"
import { RedisConnection } from "./RedisConnection.ts"

/**
 * Limits of the store.
 *
 * @since 0.1.0
 */
export interface Options {
  /** Messages kept per session; the oldest go first. Default 200. */
  readonly maxHistory?: number | undefined
  /** A session untouched for this long is forgotten. Default 1 hour. */
  readonly ttl?: Duration.Input | undefined
}

const fail = (error: { readonly message: string; readonly cause?: unknown }) =>
  new SessionStore.SessionStoreError({ message: error.message, cause: error.cause })

/**
 * Builds the store on the process's Redis connection.
 *
 * @since 0.1.0
 */
export const make = Effect.fnUntraced(function*(options?: Options) {
  const redis = yield* RedisConnection
  const maxHistory = options?.maxHistory ?? 200
  const ttl = Duration.toMillis(Duration.fromInputUnsafe(options?.ttl ?? Duration.hours(1)))
  const stateKey = (key: Interrupt.SessionKey) => `${redis.prefix}:session:${Interrupt.keyString(key)}:state`
  const historyKey = (key: Interrupt.SessionKey) => `${redis.prefix}:session:${Interrupt.keyString(key)}:history`
  const run = <A>(f: (client: typeof redis.client) => Promise<A>) => Effect.mapError(redis.use(f), fail)
  const parse = (items: ReadonlyArray<string>) => items.map((item) => JSON.parse(item) as Protocol.Message)
  const readHistory = (key: Interrupt.SessionKey) =>
    Effect.map(run((client) => client.lrange(historyKey(key), 0, -1)), parse)
  /** Appends messages (keeping the newest `maxHistory`) and refreshes the session's expiry, in `multi`. */
  const append = (
    multi: ReturnType<typeof redis.client.multi>,
    key: Interrupt.SessionKey,
    messages: ReadonlyArray<Protocol.Message>
  ) =>
    multi
      .rpush(historyKey(key), ...messages.map((message) => JSON.stringify(message)))
      .ltrim(historyKey(key), -maxHistory, -1)
      .pexpire(historyKey(key), ttl)
      .pexpire(stateKey(key), ttl)

  return SessionStore.SessionStore.of({
    getState: (key) =>
      run((client) => client.get(stateKey(key))).pipe(
        Effect.map((json) => json === null ? Option.none() : Option.some(JSON.parse(json) as unknown))
      ),
    setState: (key, value) =>
      Effect.try({
        try: () => JSON.stringify(value),
        catch: (cause) => new SessionStore.SessionStoreError({ message: "The state is not JSON", cause })
      }).pipe(
        Effect.flatMap((json) =>
          run((client) =>
            client.multi().set(stateKey(key), json, "PX", ttl).pexpire(historyKey(key), ttl).exec()
          )
        ),
        Effect.asVoid
      ),
    appendHistory: (key, messages) =>
      messages.length === 0 ? Effect.void : Effect.asVoid(run((client) => append(client.multi(), key, messages).exec())),
    history: readHistory,
    startTurn: (key, input) =>
      input.length === 0
        ? readHistory(key)
        : run((client) => append(client.multi().lrange(historyKey(key), 0, -1), key, input).exec()).pipe(
          // the first reply of the transaction is the history before the input was appended
          Effect.flatMap((replies) => {
            const [error, items] = replies?.[0] ?? [new Error("the transaction was discarded"), null]
            return error === null
              ? Effect.succeed(parse(items as Array<string>))
              : Effect.fail(fail({ message: `Could not read the history: ${error.message}`, cause: error }))
          })
        ),
    clear: (key) => Effect.asVoid(run((client) => client.del(stateKey(key), historyKey(key)))),
    check: Effect.mapError(redis.ping, fail)
  })
})

/**
 * The store as a layer, on a `RedisConnection`.
 *
 * @since 0.1.0
 */
export const layer = (options?: Options): Layer.Layer<SessionStore.SessionStore, never, RedisConnection> =>
  Layer.effect(SessionStore.SessionStore, make(options))
