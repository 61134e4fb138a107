/** The in-memory interrupt backend (re-exported by `Interrupt`). */
import { Clock, Duration, Effect, Layer, Option, Schedule } from "effect"
import { evictOldest, moveEveryMs } from "../util/bounded.ts"
import { withTimeOf } from "../util/clock.ts"
import { InterruptBackend, keyString, type RunRecord } from "./backend.ts"
import { makeListenerRegistry } from "./listeners.ts"

/**
 * Options of the in-memory backend.
 *
 * @since 0.1.0
 */
export interface MemoryOptions {
  /** How often expired leases and states are swept. Default 60 s. */
  readonly sweepInterval?: Duration.Input | undefined
  /**
   * The most run states kept; beyond it the oldest go first (a sixteenth of
   * the limit at a time), so that a busy server's memory stays bounded
   * whatever `stateTtl` is. Default 10,000.
   */
  readonly maxStates?: number | undefined
}

/**
 * Builds the in-memory backend: one process, no external service. Expired
 * leases and states are swept every `sweepInterval`.
 *
 * @since 0.1.0
 */
export const makeMemory = Effect.fnUntraced(function*(options?: MemoryOptions) {
  const maxStates = options?.maxStates ?? 10_000
  const leases = new Map<string, { owner: string; expiresAt: number }>()
  const states = new Map<string, { record: RunRecord; expiresAt: number; movedAt: number }>()
  const listeners = makeListenerRegistry()
  // the runs that wait per session, in order of arrival, each with when it was last renewed
  const queues = new Map<string, Array<{ ticket: string; expiresAt: number }>>()
  const queueOf = (id: string, now: number) => {
    const queue = queues.get(id)?.filter((entry) => entry.expiresAt > now)
    if (queue === undefined || queue.length === 0) {
      queues.delete(id)
      return []
    }
    queues.set(id, queue)
    return queue
  }
  const withNow = withTimeOf(yield* Clock.Clock)

  const liveLease = (id: string, now: number) => {
    const lease = leases.get(id)
    if (lease !== undefined && lease.expiresAt <= now) {
      leases.delete(id)
      return undefined
    }
    return lease
  }

  const writeState = (id: string, record: RunRecord, now: number, ttl: Duration.Duration) => {
    const state = states.get(id)
    // written in place when it was moved less than `moveEveryMs` ago (a session's run starts and ends)
    if (state !== undefined && now - state.movedAt < moveEveryMs) {
      state.record = record
      state.expiresAt = now + Duration.toMillis(ttl)
      return
    }
    // else re-inserted, so that the map stays in the order of the latest writes
    states.delete(id)
    states.set(id, { record, expiresAt: now + Duration.toMillis(ttl), movedAt: now })
    evictOldest(states, maxStates)
  }

  // the sessions of each user whose runs may hold leases (kept only with a per-user limit)
  const userLeases = new Map<string, Set<string>>()

  const sweep = withNow((now) => {
    for (const [id, lease] of leases) if (lease.expiresAt <= now) leases.delete(id)
    for (const [user, sessions] of userLeases) {
      for (const id of sessions) if (!leases.has(id)) sessions.delete(id)
      if (sessions.size === 0) userLeases.delete(user)
    }
    for (const [id, state] of states) if (state.expiresAt <= now) states.delete(id)
    for (const id of queues.keys()) queueOf(id, now)
  })
  yield* Effect.forkScoped(Effect.repeat(sweep, Schedule.spaced(options?.sweepInterval ?? Duration.minutes(1))))

  const takeLease = (id: string, record: RunRecord, now: number, leaseTtl: Duration.Duration, stateTtl: Duration.Duration) => {
    leases.set(id, { owner: record.runId, expiresAt: now + Duration.toMillis(leaseTtl) })
    writeState(id, record, now, stateTtl)
  }

  return InterruptBackend.of({
    startRun: (key, record, leaseTtl, stateTtl, perUser) =>
      withNow((now) => {
        const id = keyString(key)
        if (liveLease(id, now) !== undefined) return false
        if (perUser !== undefined) {
          let sessions = userLeases.get(key.userId)
          if (sessions === undefined) userLeases.set(key.userId, sessions = new Set())
          for (const each of sessions) if (liveLease(each, now) === undefined) sessions.delete(each)
          if (sessions.size >= perUser) return "limited"
          sessions.add(id)
        }
        takeLease(id, record, now, leaseTtl, stateTtl)
        return true
      }),
    renewLease: (key, owner, ttl) =>
      withNow((now) => {
        const lease = liveLease(keyString(key), now)
        if (lease === undefined || lease.owner !== owner) return false
        lease.expiresAt = now + Duration.toMillis(ttl)
        return true
      }),
    retakeRun: (key, record, leaseTtl, stateTtl) =>
      withNow((now) => {
        const id = keyString(key)
        const lease = liveLease(id, now)
        if (lease !== undefined) return lease.owner === record.runId ? "held" : "lost"
        takeLease(id, record, now, leaseTtl, stateTtl)
        return "taken"
      }),
    endRun: (key, record, stateTtl) =>
      withNow((now) => {
        const id = keyString(key)
        writeState(id, record, now, stateTtl)
        if (leases.get(id)?.owner === record.runId) leases.delete(id)
      }),
    joinQueue: (key, ticket, max, ttl) =>
      withNow((now) => {
        const id = keyString(key)
        const queue = queueOf(id, now)
        if (queue.length >= max) return false
        queue.push({ ticket, expiresAt: now + Duration.toMillis(ttl) })
        queues.set(id, queue)
        return true
      }),
    queueTurn: (key, ticket, ttl) =>
      withNow((now) => {
        const queue = queueOf(keyString(key), now)
        const entry = queue.find((waiting) => waiting.ticket === ticket)
        if (entry === undefined) return false
        entry.expiresAt = now + Duration.toMillis(ttl)
        return queue[0] === entry
      }),
    leaveQueue: (key, ticket) =>
      withNow((now) => {
        const id = keyString(key)
        const queue = queueOf(id, now).filter((waiting) => waiting.ticket !== ticket)
        if (queue.length === 0) queues.delete(id)
        else queues.set(id, queue)
      }),
    getState: (key) =>
      withNow((now) => {
        const id = keyString(key)
        const state = states.get(id)
        if (state === undefined) return Option.none()
        if (state.expiresAt <= now) {
          states.delete(id)
          return Option.none()
        }
        return Option.some(state.record)
      }),
    signalStop: (key) =>
      withNow((now) => {
        const id = keyString(key)
        return { received: listeners.signal(id) > 0, leaseExpiresAt: liveLease(id, now)?.expiresAt }
      }),
    listen: listeners.listen,
    listeners: listeners.count,
    check: Effect.void
  })
})

/**
 * The in-memory backend as a layer: the embedded default.
 *
 * @since 0.1.0
 */
export const layerMemory = (options?: MemoryOptions): Layer.Layer<InterruptBackend> =>
  Layer.effect(InterruptBackend, makeMemory(options))
