/**
 * `InterruptBackend` on Redis: leases that hold a session across every node,
 * states every node can read, and stop signals over pub/sub that reach the
 * run wherever it is.
 *
 * - A lease is a key holding its owner's run id, with a TTL. Taking it is one
 *   `SET NX PX`; renewing and releasing check the owner first, in Lua, so a
 *   run never extends or frees a lease it lost. A run starts (lease and
 *   `RUNNING` state) and ends (final state and release) in one Lua call each.
 * - A stop is published to every node, whatever the state of the lease, and
 *   each node that received it answers on the stopper's own channel whether a
 *   listener of the key took it: the stop succeeds on the first yes, and
 *   fails (naming the lease's expiry, if one is left) once every node said
 *   no, or after `ackTimeout`.
 * - The process subscribes once, on one connection, to the stop channel and
 *   its own answer channel.
 * - After Redis comes back from an outage, new runs wait `settle` (503),
 *   so that the runs that lived through it take their leases again first
 *   (a restarted Redis has lost them).
 *
 * @since 0.1.0
 */
import { Interrupt } from "@agentapp/core"
import { Deferred, Duration, Effect, Exit, Layer, Option, Schema } from "effect"
import { randomUUID } from "node:crypto"
import * as Scripts from "./internal/scripts.ts"
import { commands, RedisConnection } from "./RedisConnection.ts"

const decodeRecord = Schema.decodeUnknownOption(Schema.fromJsonString(Interrupt.RunRecord))

/**
 * Options of the backend.
 *
 * @since 0.1.0
 */
export interface Options {
  /** How long a stop waits for the nodes' answers. Default 2 s. */
  readonly ackTimeout?: Duration.Input | undefined
  /**
   * How long new runs are refused (503) after Redis comes back from an outage,
   * while the runs that lived through it take their leases again. Default 3 s:
   * more than a reconnect (at most 2 s apart) and a renewal's retry.
   */
  readonly settle?: Duration.Input | undefined
}

/** A stop waiting for the nodes' answers. */
interface PendingStop {
  readonly done: Deferred.Deferred<boolean>
  expected: number
  answered: number
}

const fail = (error: { readonly message: string; readonly cause?: unknown }) =>
  new Interrupt.InterruptBackendError({ message: error.message, cause: error.cause })

/**
 * Builds the backend on the process's Redis connection.
 *
 * @since 0.1.0
 */
export const make = Effect.fnUntraced(function*(options?: Options) {
  const ackTimeout = Duration.fromInputUnsafe(options?.ackTimeout ?? Duration.seconds(2))
  const settleMs = Duration.toMillis(Duration.fromInputUnsafe(options?.settle ?? Duration.seconds(3)))
  const redis = yield* RedisConnection
  const leaseKey = (key: Interrupt.SessionKey) => `${redis.prefix}:lease:${Interrupt.keyString(key)}`
  const stateKey = (key: Interrupt.SessionKey) => `${redis.prefix}:state:${Interrupt.keyString(key)}`
  const channel = `${redis.prefix}:stop`
  const node = randomUUID()
  const answersTo = (id: string) => `${redis.prefix}:stop-answer:${id}`
  const answers = answersTo(node)
  const pending = new Map<string, PendingStop>()
  const { ping, script, use } = commands(redis, fail)
  const renew = script(Scripts.renewLease)
  const retakeRun = script(Scripts.retakeRun)
  const startRun = script(Scripts.startRun)
  const startRunLimited = script(Scripts.startRunLimited)
  // a user's set of leases outlives their last start by a day: a longer run is not counted after it
  const userLeasesTtl = Duration.toMillis(Duration.days(1))
  const userLeasesKey = (userId: string) => `${redis.prefix}:user-leases:${userId.length}:${userId}`
  const endRun = script(Scripts.endRun)
  const signal = script(Scripts.signalStop)
  const joinQueue = script(Scripts.joinQueue)
  const queueTurn = script(Scripts.queueTurn)
  const leaveQueue = script(Scripts.leaveQueue)
  const queueKey = (key: Interrupt.SessionKey) => `${redis.prefix}:queue:${Interrupt.keyString(key)}`
  const ticketPrefix = `${redis.prefix}:queued:`
  /** The keys and arguments of the scripts that take a lease and record `RUNNING`. */
  const takeArgs = (
    key: Interrupt.SessionKey,
    record: Interrupt.RunRecord,
    leaseTtl: Duration.Duration,
    stateTtl: Duration.Duration
  ) =>
    [
      leaseKey(key),
      stateKey(key),
      record.runId,
      Duration.toMillis(leaseTtl),
      JSON.stringify(record),
      Math.max(1, Duration.toMillis(stateTtl))
    ] as const

  /** `takeArgs` with the user's set of leases as a third key. */
  const withUser = ([lease, state, ...args]: ReturnType<typeof takeArgs>, users: string) => [lease, state, users, ...args] as const

  const listeners = Interrupt.makeListenerRegistry()

  // a stop: "<stop id>\n<node>\n<key>"; an answer: "<stop id>\n<1 or 0>"
  const onMessage = (from: string, message: string) => {
    if (from === channel) {
      const first = message.indexOf("\n")
      const second = message.indexOf("\n", first + 1)
      if (first === -1 || second === -1) return
      const took = listeners.signal(message.slice(second + 1)) > 0
      const reply = `${message.slice(0, first)}\n${took ? 1 : 0}`
      redis.client.publish(answersTo(message.slice(first + 1, second)), reply).catch(() => undefined)
    } else if (from === answers) {
      const stop = pending.get(message.slice(0, message.indexOf("\n")))
      if (stop === undefined) return
      stop.answered++
      if (message.endsWith("\n1")) Deferred.doneUnsafe(stop.done, Exit.succeed(true))
      else if (stop.answered >= stop.expected) Deferred.doneUnsafe(stop.done, Exit.succeed(false))
    }
  }
  const subscribe = () => redis.subscriber.subscribe(channel, answers).catch(() => undefined)

  // when the command connection comes back from an outage, new runs wait a moment (see `settle`)
  let recoveredAt = 0
  let down = false
  const onError = () => {
    down = true
  }
  const onReady = () => {
    if (down) recoveredAt = Date.now()
    down = false
  }
  redis.client.on("error", onError)
  redis.client.on("ready", onReady)
  yield* Effect.addFinalizer(() =>
    Effect.sync(() => {
      redis.client.off("error", onError)
      redis.client.off("ready", onReady)
    })
  )
  const settling = Effect.suspend(() =>
    Date.now() - recoveredAt < settleMs
      ? Effect.fail(
        new Interrupt.InterruptBackendError({
          message: "Redis is back from an outage; running sessions are taking their leases again, retry in a moment"
        })
      )
      : Effect.void
  )

  const signalStop = (key: Interrupt.SessionKey) =>
    Effect.gen(function*() {
      const id = randomUUID()
      const stop: PendingStop = { done: Deferred.makeUnsafe<boolean>(), expected: Number.POSITIVE_INFINITY, answered: 0 }
      pending.set(id, stop)
      return yield* Effect.gen(function*() {
        const [receivers, ttl] = yield* signal(leaseKey(key), channel, `${id}\n${node}\n${Interrupt.keyString(key)}`)
        stop.expected = receivers
        if (stop.answered >= receivers) Deferred.doneUnsafe(stop.done, Exit.succeed(false))
        const received = receivers === 0
          ? false
          : Option.getOrElse(yield* Effect.timeoutOption(Deferred.await(stop.done), ackTimeout), () => false)
        return { received, leaseExpiresAt: ttl > 0 ? Date.now() + ttl : undefined } satisfies Interrupt.StopSignal
      }).pipe(Effect.ensuring(Effect.sync(() => pending.delete(id))))
    })
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
    joinQueue: (key, ticket, max, ttl) =>
      Effect.map(joinQueue(queueKey(key), ticket, ticketPrefix, max, Math.max(1, Duration.toMillis(ttl))), (reply) => reply === 1),
    queueTurn: (key, ticket, ttl) =>
      Effect.map(queueTurn(queueKey(key), ticket, ticketPrefix, Math.max(1, Duration.toMillis(ttl))), (reply) => reply === 1),
    leaveQueue: (key, ticket) => Effect.asVoid(leaveQueue(queueKey(key), ticket, ticketPrefix)),
    startRun: (key, record, leaseTtl, stateTtl, perUser) =>
      Effect.andThen(
        settling,
        perUser === undefined
          ? Effect.map(startRun(...takeArgs(key, record, leaseTtl, stateTtl)), (reply) => reply === 1)
          : Effect.map(
            startRunLimited(...withUser(takeArgs(key, record, leaseTtl, stateTtl), userLeasesKey(key.userId)), perUser, userLeasesTtl),
            (reply) => reply === 2 ? "limited" as const : reply === 1
          )
      ),
    renewLease: (key, owner, ttl) =>
      Effect.map(renew(leaseKey(key), owner, Duration.toMillis(ttl)), (reply) => reply === 1),
    retakeRun: (key, record, leaseTtl, stateTtl) =>
      Effect.map(
        retakeRun(...takeArgs(key, record, leaseTtl, stateTtl)),
        (reply) => reply === 1 ? "taken" : reply === 0 ? "held" : "lost"
      ),
    endRun: (key, record, stateTtl) =>
      Effect.asVoid(
        endRun(leaseKey(key), stateKey(key), record.runId, JSON.stringify(record), Math.max(1, Duration.toMillis(stateTtl)))
      ),
    getState: (key) =>
      use((client) => client.get(stateKey(key))).pipe(
        Effect.map((json) => json === null ? Option.none() : decodeRecord(json))
      ),
    signalStop,
    listen: listeners.listen,
    listeners: listeners.count,
    // not ready while settling: a load balancer sends new runs elsewhere meanwhile
    check: Effect.andThen(ping, settling)
  })
})

/**
 * The backend as a layer, on a `RedisConnection`.
 *
 * @since 0.1.0
 */
export const layer = (options?: Options): Layer.Layer<Interrupt.InterruptBackend, never, RedisConnection> =>
  Layer.effect(Interrupt.InterruptBackend, make(options))
