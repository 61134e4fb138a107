/**
 * `SessionStore` on Redis: state and history that every node reads and
 * writes. The state is a JSON string; the history a list trimmed to its
 * newest messages. Both expire when the session is left alone for the TTL.
 *
 * @since 0.1.0
 */
import { Interrupt, type Protocol, SessionStore } from "@agentapp/core"
import { Duration, Effect, Layer, Option } from "effect"
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

// KEYS: history, state; ARGV: max history, TTL ms, then the messages' JSON: appends them, keeps the newest,
// and refreshes both keys' expiry
const appendLua = `
for i = 3, #ARGV do redis.call("RPUSH", KEYS[1], ARGV[i]) end
redis.call("LTRIM", KEYS[1], -tonumber(ARGV[1]), -1)
redis.call("PEXPIRE", KEYS[1], ARGV[2])
redis.call("PEXPIRE", KEYS[2], ARGV[2])`

const appendScript = `${appendLua}
return 1`

// the same, giving the history as it was before
const startTurnScript = `
local before = redis.call("LRANGE", KEYS[1], 0, -1)
${appendLua}
return before`

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
  const run = <A>(f: (client: typeof redis.client) => Promise<A>) => Effect.mapError(redis.use(f), fail)
  const parse = (items: ReadonlyArray<string>) => items.map((item) => JSON.parse(item) as Protocol.Message)
  const readHistory = (key: Interrupt.SessionKey) =>
    Effect.map(run((client) => client.lrange(historyKey(key), 0, -1)), parse)
  const appendCall = redis.script(appendScript, 2)
  const startTurnCall = redis.script(startTurnScript, 2)
  /** Calls a script of the form of `appendScript` with the messages of a turn: one command, atomic. */
  const withMessages = <A>(
    call: (...keysAndArgs: ReadonlyArray<string | number>) => Effect.Effect<A, RedisConnection.RedisError>,
    key: Interrupt.SessionKey,
    messages: ReadonlyArray<Protocol.Message>
  ) =>
    Effect.mapError(
      call(historyKey(key), stateKey(key), maxHistory, ttl, ...messages.map((message) => JSON.stringify(message))),
      fail
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
            client.multi().set(stateKey(key), json, "PX", ttl).pexpire(historyKey(key), ttl).exec()
          )
        ),
        Effect.asVoid
      ),
    appendHistory: (key, messages) =>
      messages.length === 0 ? Effect.void : Effect.asVoid(withMessages(appendCall, key, messages)),
    history: readHistory,
    startTurn: (key, input) =>
      input.length === 0
        ? readHistory(key)
        : Effect.map(withMessages(startTurnCall, key, input), (before) => parse(before as Array<string>)),
    clear: (key) => Effect.asVoid(run((client) => client.del(stateKey(key), historyKey(key)))),
    check: Effect.mapError(redis.ping, fail)
  })
})

/**
 * The store as a layer, on a `RedisConnection`.
 *
 * @since 0.1.0
 */
export const layer = (options?: Options): Layer.Layer<SessionStore.SessionStore, never, RedisConnection.RedisConnection> =>
  Layer.effect(SessionStore.SessionStore, make(options))
