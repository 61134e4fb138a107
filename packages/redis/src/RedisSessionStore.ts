/**
 * `SessionStore` on Redis: state and history that every node reads and
 * writes. The state is a JSON string; the history a list trimmed to its
 * newest messages. Both expire when the session is left alone for the TTL.
 *
 * @since 0.1.0
 */
import { Interrupt, type Protocol, SessionStore } from "@agentapp/core"
import { Duration, Effect, Layer, Option } from "effect"
import * as Scripts from "./internal/scripts.ts"
import * as RedisConnection from "./RedisConnection.ts"

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
  const redis = yield* RedisConnection.RedisConnection
  const maxHistory = options?.maxHistory ?? 200
  const ttl = Duration.toMillis(Duration.fromInputUnsafe(options?.ttl ?? Duration.hours(1)))
  const stateKey = (key: Interrupt.SessionKey) => `${redis.prefix}:session:${Interrupt.keyString(key)}:state`
  const historyKey = (key: Interrupt.SessionKey) => `${redis.prefix}:session:${Interrupt.keyString(key)}:history`
  const turnKey = (key: Interrupt.SessionKey) => `${redis.prefix}:session:${Interrupt.keyString(key)}:turn`
  const { ping, script, use: run } = RedisConnection.commands(redis, fail)
  const parse = (items: ReadonlyArray<string>) => items.map((item) => JSON.parse(item) as Protocol.Message)
  const readHistory = (key: Interrupt.SessionKey) =>
    Effect.map(run((client) => client.lrange(historyKey(key), 0, -1)), parse)
  const appendCall = script(Scripts.appendHistory)
  const startTurnCall = script(Scripts.startTurn)
  /** Calls a script of the form of `appendHistory` with the messages of a turn: one command, atomic. */
  const withMessages = <A>(
    call: (...keysAndArgs: ReadonlyArray<string | number>) => Effect.Effect<A, SessionStore.SessionStoreError>,
    key: Interrupt.SessionKey,
    messages: ReadonlyArray<Protocol.Message>,
    turn: string | undefined
  ) =>
    call(
      historyKey(key),
      stateKey(key),
      turnKey(key),
      maxHistory,
      ttl,
      turn ?? "",
      ...messages.map((message) => JSON.stringify(message))
    )

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
            client.multi().set(stateKey(key), json, "PX", ttl).pexpire(historyKey(key), ttl).pexpire(turnKey(key), ttl)
              .exec()
          )
        ),
        Effect.asVoid
      ),
    appendHistory: (key, messages, turn) =>
      messages.length === 0 ? Effect.void : Effect.asVoid(withMessages(appendCall, key, messages, turn)),
    history: readHistory,
    startTurn: (key, input, turn) =>
      input.length === 0 && turn === undefined
        ? readHistory(key)
        : Effect.map(withMessages(startTurnCall, key, input, turn), parse),
    clear: (key) => Effect.asVoid(run((client) => client.del(stateKey(key), historyKey(key), turnKey(key)))),
    check: ping
  })
})

/**
 * The store as a layer, on a `RedisConnection`.
 *
 * @since 0.1.0
 */
export const layer = (options?: Options): Layer.Layer<SessionStore.SessionStore, never, RedisConnection.RedisConnection> =>
  Layer.effect(SessionStore.SessionStore, make(options))
