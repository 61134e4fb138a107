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

// KEYS: history, state, turn; ARGV: max history, TTL ms, turn id ("" for none), then the messages' JSON:
// appends them, keeps the newest, counts them in the turn hash's `total`, and refreshes the keys' expiry
const appendLua = `
for i = 4, #ARGV do redis.call("RPUSH", KEYS[1], ARGV[i]) end
redis.call("HINCRBY", KEYS[3], "total", #ARGV - 3)
redis.call("LTRIM", KEYS[1], -tonumber(ARGV[1]), -1)
redis.call("PEXPIRE", KEYS[1], ARGV[2])
redis.call("PEXPIRE", KEYS[2], ARGV[2])
redis.call("PEXPIRE", KEYS[3], ARGV[2])`

// once per turn: a reply appended again (a retried task) is left out
const appendScript = `
if ARGV[3] ~= "" then
  if redis.call("HGET", KEYS[3], "replied") == ARGV[3] then return 0 end
  redis.call("HSET", KEYS[3], "replied", ARGV[3])
end
${appendLua}
return 1`

// gives the history as it was before the turn's input; the latest turn started again gives the same
// and appends nothing
const startTurnScript = `
if ARGV[3] ~= "" then
  local turn = redis.call("HMGET", KEYS[3], "turn", "at", "total")
  if turn[1] == ARGV[3] then
    local first = tonumber(turn[3] or "0") - redis.call("LLEN", KEYS[1])
    local upto = tonumber(turn[2]) - first
    if upto <= 0 then return {} end
    return redis.call("LRANGE", KEYS[1], 0, upto - 1)
  end
end
local before = redis.call("LRANGE", KEYS[1], 0, -1)
if ARGV[3] ~= "" then
  redis.call("HSET", KEYS[3], "turn", ARGV[3], "at", redis.call("HGET", KEYS[3], "total") or "0")
end
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
  const turnKey = (key: Interrupt.SessionKey) => `${redis.prefix}:session:${Interrupt.keyString(key)}:turn`
  const run = <A>(f: (client: typeof redis.client) => Promise<A>) => Effect.mapError(redis.use(f), fail)
  const parse = (items: ReadonlyArray<string>) => items.map((item) => JSON.parse(item) as Protocol.Message)
  const readHistory = (key: Interrupt.SessionKey) =>
    Effect.map(run((client) => client.lrange(historyKey(key), 0, -1)), parse)
  const appendCall = redis.script(appendScript, 3)
  const startTurnCall = redis.script(startTurnScript, 3)
  /** Calls a script of the form of `appendScript` with the messages of a turn: one command, atomic. */
  const withMessages = <A>(
    call: (...keysAndArgs: ReadonlyArray<string | number>) => Effect.Effect<A, RedisConnection.RedisError>,
    key: Interrupt.SessionKey,
    messages: ReadonlyArray<Protocol.Message>,
    turn: string | undefined
  ) =>
    Effect.mapError(
      call(
        historyKey(key),
        stateKey(key),
        turnKey(key),
        maxHistory,
        ttl,
        turn ?? "",
        ...messages.map((message) => JSON.stringify(message))
      ),
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
        : Effect.map(withMessages(startTurnCall, key, input, turn), (before) => parse(before as Array<string>)),
    clear: (key) => Effect.asVoid(run((client) => client.del(stateKey(key), historyKey(key), turnKey(key)))),
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
