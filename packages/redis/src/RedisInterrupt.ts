/**
 * `InterruptBackend` on Redis: leases that hold a session across every node,
 * states every node can read, and stop signals over pub/sub that reach the
 * run wherever it is.
 *
 * - A lease is a key holding its owner's run id, with a TTL. Taking it is one
 *   `SET NX PX`; renewing and releasing check the owner first, in Lua, so a
 *   run never extends or frees a lease it lost. A run starts (lease and
 *   `RUNNING` state) and ends (final state and release) in one Lua call each.
 * - A stop checks the lease and publishes in one Lua call, so it is sent only
 *   while a run holds the session.
 * - The process subscribes once, on one connection, to one channel; each
 *   message completes the local listeners of its key.
 *
 * @since 0.1.0
 */
import { Interrupt } from "@agentapp/core"
import { Duration, Effect, Layer, Option, Schema } from "effect"
import { RedisConnection } from "./RedisConnection.ts"

const renewScript = `
if redis.call("GET", KEYS[1]) == ARGV[1] then
  return redis.call("PEXPIRE", KEYS[1], ARGV[2])
end
return 0`

const releaseScript = `
if redis.call("GET", KEYS[1]) == ARGV[1] then
  return redis.call("DEL", KEYS[1])
end
return 0`

// KEYS: lease, state; ARGV: run id, lease TTL ms, state JSON, state TTL ms
const startRunScript = `
if redis.call("SET", KEYS[1], ARGV[1], "PX", ARGV[2], "NX") then
  redis.call("SET", KEYS[2], ARGV[3], "PX", ARGV[4])
  return 1
end
return 0`

// KEYS: lease, state; ARGV: run id, state JSON, state TTL ms
const endRunScript = `
redis.call("SET", KEYS[2], ARGV[2], "PX", ARGV[3])
if redis.call("GET", KEYS[1]) == ARGV[1] then
  redis.call("DEL", KEYS[1])
end
return 1`

const signalScript = `
if redis.call("EXISTS", KEYS[1]) == 1 then
  redis.call("PUBLISH", KEYS[2], ARGV[1])
  return 1
end
return 0`

const decodeRecord = Schema.decodeUnknownOption(Schema.fromJsonString(Interrupt.RunRecord))

const fail = (error: { readonly message: string; readonly cause?: unknown }) =>
  new Interrupt.InterruptBackendError({ message: error.message, cause: error.cause })

/**
 * Builds the backend on the process's Redis connection.
 *
 * @since 0.1.0
 */
export const make = Effect.gen(function*() {
  const redis = yield* RedisConnection
  const leaseKey = (key: Interrupt.SessionKey) => `${redis.prefix}:lease:${Interrupt.keyString(key)}`
  const stateKey = (key: Interrupt.SessionKey) => `${redis.prefix}:state:${Interrupt.keyString(key)}`
  const channel = `${redis.prefix}:stop`
  const run = <A>(f: (client: typeof redis.client) => Promise<A>) => Effect.mapError(redis.use(f), fail)
  const script = (lua: string, numberOfKeys: number) => {
    const call = redis.script(lua, numberOfKeys)
    return (...keysAndArgs: ReadonlyArray<string | number>) => Effect.mapError(call(...keysAndArgs), fail)
  }
  const renew = script(renewScript, 1)
  const release = script(releaseScript, 1)
  const startRun = script(startRunScript, 2)
  const endRun = script(endRunScript, 2)
  const signal = script(signalScript, 2)

  const listeners = Interrupt.makeListenerRegistry()

  // one subscription for the process; ioredis subscribes again after a reconnect
  const onMessage = (from: string, message: string) => {
    if (from === channel) listeners.signal(message)
  }
  const subscribe = () => redis.subscriber.subscribe(channel).catch(() => undefined)
  yield* Effect.acquireRelease(
    Effect.sync(() => {
      redis.subscriber.on("message", onMessage)
      // with the offline queue off, a subscribe while Redis is away fails; each ready subscribes again
      redis.subscriber.on("ready", subscribe)
    }),
    () =>
      Effect.sync(() => {
        redis.subscriber.off("message", onMessage)
        redis.subscriber.off("ready", subscribe)
      })
  )
  // when Redis is up, be subscribed before the first run can listen
  if (redis.subscriber.status === "ready") {
    yield* Effect.promise(subscribe).pipe(Effect.timeoutOption(Duration.seconds(3)))
  }

  return Interrupt.InterruptBackend.of({
    acquireLease: (key, owner, ttl) =>
      run((client) => client.set(leaseKey(key), owner, "PX", Duration.toMillis(ttl), "NX")).pipe(
        Effect.map((reply) => reply === "OK")
      ),
    renewLease: (key, owner, ttl) =>
      Effect.map(renew(leaseKey(key), owner, Duration.toMillis(ttl)), (reply) => reply === 1),
    releaseLease: (key, owner) => Effect.asVoid(release(leaseKey(key), owner)),
    startRun: (key, record, leaseTtl, stateTtl) =>
      Effect.map(
        startRun(
          leaseKey(key),
          stateKey(key),
          record.runId,
          Duration.toMillis(leaseTtl),
          JSON.stringify(record),
          Math.max(1, Duration.toMillis(stateTtl))
        ),
        (reply) => reply === 1
      ),
    endRun: (key, record, stateTtl) =>
      Effect.asVoid(
        endRun(leaseKey(key), stateKey(key), record.runId, JSON.stringify(record), Math.max(1, Duration.toMillis(stateTtl)))
      ),
    leaseOwner: (key) => run((client) => client.get(leaseKey(key))).pipe(Effect.map(Option.fromNullishOr)),
    setState: (key, record, ttl) =>
      Effect.asVoid(
        run((client) => client.set(stateKey(key), JSON.stringify(record), "PX", Math.max(1, Duration.toMillis(ttl))))
      ),
    getState: (key) =>
      run((client) => client.get(stateKey(key))).pipe(
        Effect.map((json) => json === null ? Option.none() : decodeRecord(json))
      ),
    signalStop: (key) => Effect.map(signal(leaseKey(key), channel, Interrupt.keyString(key)), (reply) => reply === 1),
    listen: listeners.listen,
    listeners: listeners.count,
    check: Effect.mapError(redis.ping, fail)
  })
})

/**
 * The backend as a layer, on a `RedisConnection`.
 *
 * @since 0.1.0
 */
export const layer: Layer.Layer<Interrupt.InterruptBackend, never, RedisConnection> = Layer.effect(
  Interrupt.InterruptBackend,
  make
)
