/**
 * Interrupts: every run holds a lease on its `(user_id, session_id)` and
 * listens for stop signals; a stop from anywhere interrupts the run's fiber.
 *
 * `InterruptBackend` is the pluggable part, a handful of primitives (lease,
 * state, signal, listen) that a memory map or Redis can provide. `claim`
 * composes them for one run, the same way for every backend.
 *
 * @since 0.1.0
 */
import { evictOldest, moveEveryMs } from "./internal/bounded.ts"
import { withTimeOf } from "./internal/clock.ts"
import { randomUuid } from "./internal/ids.ts"
import { registerScoped } from "./internal/scoped.ts"
import { Cause, Clock, Context, Deferred, Duration, Effect, Exit, Layer, Option, Schedule, Schema, Scope, Tracer } from "effect"

/**
 * Who a run belongs to. A session holds at most one run at a time.
 *
 * @since 0.1.0
 */
export interface SessionKey {
  readonly userId: string
  readonly sessionId: string
}

/**
 * The recorded state of a session's latest run.
 *
 * @since 0.1.0
 */
export const RunState = Schema.Literals(["RUNNING", "FINISHED", "STOPPED", "ERROR"])

/**
 * @since 0.1.0
 */
export type RunState = typeof RunState.Type

/**
 * A state with the run it belongs to and when it was recorded (unix ms).
 *
 * @since 0.1.0
 */
export const RunRecord = Schema.Struct({
  state: RunState,
  runId: Schema.String,
  updatedAt: Schema.Number
})

/**
 * @since 0.1.0
 */
export type RunRecord = typeof RunRecord.Type

/**
 * The session already has a running run (HTTP 409 `session_busy`).
 *
 * @since 0.1.0
 */
export class SessionBusy extends Schema.TaggedError<SessionBusy>()("SessionBusy", {
  userId: Schema.String,
  sessionId: Schema.String,
  message: Schema.String
}) {}

/**
 * A stop for a session that has no running run (HTTP 404 `not_found`).
 *
 * @since 0.1.0
 */
export class NoActiveRun extends Schema.TaggedError<NoActiveRun>()("NoActiveRun", {
  userId: Schema.String,
  sessionId: Schema.String,
  message: Schema.String,
  /**
   * When no live run took the stop but a lease still holds the session (its
   * node died, or does not answer): when that lease frees, unix ms.
   */
  leaseExpiresAt: Schema.optional(Schema.Number)
}) {}

/**
 * What a stop signal reached: whether a live run took it, and the expiry of
 * the session's lease, if one is held (unix ms).
 *
 * @since 0.1.0
 */
export interface StopSignal {
  readonly received: boolean
  readonly leaseExpiresAt: number | undefined
}

/**
 * The backend could not do what was asked (for example Redis is unreachable).
 *
 * @since 0.1.0
 */
export class InterruptBackendError extends Schema.TaggedError<InterruptBackendError>()("InterruptBackendError", {
  message: Schema.String,
  cause: Schema.optional(Schema.Defect())
}) {}

/**
 * The primitives of an interrupt backend. Leases are owned by a run id and
 * expire after their TTL unless renewed; a stop signal reaches every
 * listener of the key, on every node.
 *
 * @since 0.1.0
 */
export class InterruptBackend extends Context.Service<InterruptBackend, {
  /** Takes the lease if nobody holds it: `true` when taken. */
  readonly acquireLease: (
    key: SessionKey,
    owner: string,
    ttl: Duration.Duration
  ) => Effect.Effect<boolean, InterruptBackendError>
  /** Extends the lease if `owner` still holds it: `false` when it was lost. */
  readonly renewLease: (
    key: SessionKey,
    owner: string,
    ttl: Duration.Duration
  ) => Effect.Effect<boolean, InterruptBackendError>
  /** Gives the lease up if `owner` holds it. */
  readonly releaseLease: (key: SessionKey, owner: string) => Effect.Effect<void, InterruptBackendError>
  /**
   * Starts a run in one step: takes the lease for `record.runId` if nobody
   * holds it and, when taken, records `record` (its `RUNNING` state), kept
   * for `stateTtl`. `true` when taken.
   */
  readonly startRun: (
    key: SessionKey,
    record: RunRecord,
    leaseTtl: Duration.Duration,
    stateTtl: Duration.Duration
  ) => Effect.Effect<boolean, InterruptBackendError>
  /**
   * Ends a run in one step: records its final `record`, kept for
   * `stateTtl`, and gives the lease up if `record.runId` still holds it.
   */
  readonly endRun: (
    key: SessionKey,
    record: RunRecord,
    stateTtl: Duration.Duration
  ) => Effect.Effect<void, InterruptBackendError>
  /** The run holding the lease, if any. */
  readonly leaseOwner: (key: SessionKey) => Effect.Effect<Option.Option<string>, InterruptBackendError>
  /** Records the state of a session's run, kept for `ttl`. */
  readonly setState: (
    key: SessionKey,
    record: RunRecord,
    ttl: Duration.Duration
  ) => Effect.Effect<void, InterruptBackendError>
  /** The recorded state, if it has not expired. */
  readonly getState: (key: SessionKey) => Effect.Effect<Option.Option<RunRecord>, InterruptBackendError>
  /**
   * Sends one stop signal to the runs of the key, wherever they are, whatever
   * the state of the lease (a run may have lost it to a Redis restart), and
   * says whether a live run took it: a node that holds a listener of the key
   * acknowledges it, so that a lease left by a dead node is not taken for a run.
   */
  readonly signalStop: (key: SessionKey) => Effect.Effect<StopSignal, InterruptBackendError>
  /**
   * Listens for stop signals of the key while the scope is open: the
   * Deferred it gives is completed by the first signal.
   */
  readonly listen: (key: SessionKey) => Effect.Effect<Deferred.Deferred<void>, InterruptBackendError, Scope.Scope>
  /** How many listeners this process has open, for tests and metrics. */
  readonly listeners: Effect.Effect<number>
  /** Fails while the backend is unavailable; `/readiness` is 503 meanwhile. */
  readonly check: Effect.Effect<void, InterruptBackendError>
}>()("@agentapp/core/InterruptBackend") {}

/** A session id as messages quote it: cut at 128 characters, so that no message echoes a huge id. */
const capId = (id: string): string => id.length <= 128 ? id : `${id.slice(0, 127)}…`

/**
 * The string form of a key, for maps and Redis keys.
 *
 * @since 0.1.0
 */
export const keyString = (key: SessionKey): string => key instanceof KeyOfRun ? key.string : joinKey(key)

// joined rather than concatenated: one flat string instead of a rope, as map keys live as long as a session
const joinKey = (key: SessionKey): string => [key.userId.length, key.userId, key.sessionId].join(":")

/**
 * A key whose string form is built once, the first time it is needed: a run's
 * key is looked up by its stop listener, its lease, its state and its
 * history, each of which would otherwise build (and keep) a copy of its own.
 */
class KeyOfRun implements SessionKey {
  readonly userId: string
  readonly sessionId: string
  #string: string | undefined = undefined

  constructor(userId: string, sessionId: string) {
    this.userId = userId
    this.sessionId = sessionId
  }

  get string(): string {
    return this.#string ??= joinKey(this)
  }
}

/**
 * The key of a session, for a run: the same as `{ userId, sessionId }`, but
 * its {@link keyString} is built once and shared by every backend.
 *
 * @since 0.1.0
 */
export const makeSessionKey = (userId: string, sessionId: string): SessionKey => new KeyOfRun(userId, sessionId)

/**
 * The stop listeners of one process, by key: what every backend keeps
 * locally, whatever carries the signal between processes.
 *
 * @since 0.1.0
 */
export interface ListenerRegistry {
  /** `InterruptBackend.listen`: a Deferred for the key, until the scope closes. */
  readonly listen: (key: SessionKey) => Effect.Effect<Deferred.Deferred<void>, never, Scope.Scope>
  /** Completes the listeners of a key (by its `keyString`): how many there were. */
  readonly signal: (id: string) => number
  /** `InterruptBackend.listeners`. */
  readonly count: Effect.Effect<number>
}

/**
 * A registry of stop listeners, for backends.
 *
 * @since 0.1.0
 */
export const makeListenerRegistry = (): ListenerRegistry => {
  // a key's one listener as it is (almost every key has one), a set only for several
  const listeners = new Map<string, Deferred.Deferred<void> | Set<Deferred.Deferred<void>>>()
  let count = 0
  return {
    listen: (key) => {
      const id = keyString(key)
      const deferred = Deferred.makeUnsafe<void>()
      return registerScoped(() => {
        const listening = listeners.get(id)
        if (listening === undefined) listeners.set(id, deferred)
        else if (listening instanceof Set) listening.add(deferred)
        else listeners.set(id, new Set([listening, deferred]))
        count++
        return deferred
      }, () => {
        const listening = listeners.get(id)
        if (listening === deferred) {
          listeners.delete(id)
          count--
        } else if (listening instanceof Set && listening.delete(deferred)) {
          count--
          if (listening.size === 0) listeners.delete(id)
        }
        return Effect.void
      })
    },
    signal: (id) => {
      const listening = listeners.get(id)
      if (listening === undefined) return 0
      if (listening instanceof Set) {
        // a completed listener may leave the set at once (its run ends): count and copy first
        const all = [...listening]
        for (const deferred of all) Deferred.doneUnsafe(deferred, Exit.void)
        return all.length
      }
      Deferred.doneUnsafe(listening, Exit.void)
      return 1
    },
    count: Effect.sync(() => count)
  }
}

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

  const sweep = withNow((now) => {
    for (const [id, lease] of leases) if (lease.expiresAt <= now) leases.delete(id)
    for (const [id, state] of states) if (state.expiresAt <= now) states.delete(id)
  })
  yield* Effect.forkScoped(Effect.repeat(sweep, Schedule.spaced(options?.sweepInterval ?? Duration.minutes(1))))

  return InterruptBackend.of({
    acquireLease: (key, owner, ttl) =>
      withNow((now) => {
        const id = keyString(key)
        if (liveLease(id, now) !== undefined) return false
        leases.set(id, { owner, expiresAt: now + Duration.toMillis(ttl) })
        return true
      }),
    renewLease: (key, owner, ttl) =>
      withNow((now) => {
        const lease = liveLease(keyString(key), now)
        if (lease === undefined || lease.owner !== owner) return false
        lease.expiresAt = now + Duration.toMillis(ttl)
        return true
      }),
    releaseLease: (key, owner) =>
      Effect.sync(() => {
        const id = keyString(key)
        if (leases.get(id)?.owner === owner) leases.delete(id)
      }),
    leaseOwner: (key) =>
      withNow((now) => Option.fromNullishOr(liveLease(keyString(key), now)?.owner)),
    startRun: (key, record, leaseTtl, stateTtl) =>
      withNow((now) => {
        const id = keyString(key)
        if (liveLease(id, now) !== undefined) return false
        leases.set(id, { owner: record.runId, expiresAt: now + Duration.toMillis(leaseTtl) })
        writeState(id, record, now, stateTtl)
        return true
      }),
    endRun: (key, record, stateTtl) =>
      withNow((now) => {
        const id = keyString(key)
        writeState(id, record, now, stateTtl)
        if (leases.get(id)?.owner === record.runId) leases.delete(id)
      }),
    setState: (key, record, ttl) =>
      withNow((now) => writeState(keyString(key), record, now, ttl)),
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

/**
 * How runs take their session.
 *
 * @since 0.1.0
 */
export interface ClaimOptions {
  /** Lease TTL; the lease is renewed every third of it while the run lives. */
  readonly leaseTtl: Duration.Duration
  /** How long the final state is kept. */
  readonly stateTtl: Duration.Duration
  /** What a run does when its session is busy: fail with `SessionBusy`, or stop the running one and take over. */
  readonly onBusy: "reject" | "interrupt"
  /** With `onBusy: "interrupt"`, how long to wait for the old run to let go. */
  readonly takeoverTimeout: Duration.Duration
}

/**
 * A session held by a run.
 *
 * @since 0.1.0
 */
export interface Claim {
  readonly key: SessionKey
  readonly runId: string
  /** Completed when a stop signal for this session arrives (and the run's cancel signal). */
  readonly stopped: Deferred.Deferred<void>
  /**
   * Records the final state and gives the lease up. The first call counts;
   * if none was made when the scope closes, the state is `STOPPED`.
   */
  readonly finish: (state: Exclude<RunState, "RUNNING">) => Effect.Effect<void>
}

/**
 * Claims a session for a run, for the life of the current scope: listens for
 * stop signals, takes the lease (renewed in the background), and records
 * `RUNNING`. Fails with `SessionBusy` when another run holds it.
 *
 * @since 0.1.0
 */
export const claim = (key: SessionKey, options: ClaimOptions) =>
  InterruptBackend.use((backend) => claimWith(backend, key, options))

/**
 * {@link claim} with the backend given: the form for hot paths, which skips
 * the context lookup.
 *
 * @since 0.1.0
 */
export const claimWith = Effect.fnUntraced(function*(
  backend: InterruptBackend["Service"],
  key: SessionKey,
  options: ClaimOptions
) {
  // Listen before taking the lease, so that no stop can find the lease but miss the listener.
  // The first attempt listens in the run's own scope; a takeover retries in scopes of their own.
  const first = yield* backend.listen(key)
  const claim = new RunClaim(backend, key, options, first)

  // Registered before the lease is taken, and ending the run only once it holds the lease, so that
  // no interruption can fall between taking the lease and being sure to end it.
  // A run that ends without finishing was cut off (its client left, or it was interrupted): STOPPED,
  // unless it failed outright before it could run. (Scope.addFinalizerExit, not Effect.addFinalizer:
  // the finalizer needs no services, and providing the context again would copy it once per run.)
  yield* Scope.addFinalizerExit(yield* Effect.scope, claim.onScopeClose)

  const running: RunRecord = { state: "RUNNING", runId: claim.runId, updatedAt: yield* Clock.currentTimeMillis }
  // uninterruptible: a run interrupted (its client gone) while the backend takes the lease would
  // otherwise never learn that it holds it, and leave the session locked until the lease expires
  claim.held = yield* Effect.uninterruptible(backend.startRun(key, running, options.leaseTtl, options.stateTtl))
  if (!claim.held && options.onBusy === "interrupt") {
    const stopped = yield* takeOver(backend, key, running, claim, options)
    if (stopped !== undefined) claim.stopped = stopped
  }
  if (!claim.held) {
    return yield* new SessionBusy({
      userId: key.userId,
      sessionId: key.sessionId,
      message: `Session ${capId(key.sessionId)} already has a running run`
    })
  }
  yield* renewals(backend).start(claim)
  return claim as Claim
})

/**
 * A run's claim, and its entry in the lease renewals: one object per run,
 * whose methods the run's finalizer and the renewals share.
 */
class RunClaim implements Claim, Renewal {
  readonly runId = randomUuid()
  readonly everyMs: number
  nextAt = 0
  /** Whether the lease was taken (so that the run must end it). */
  held = false
  private finished = false
  readonly backend: InterruptBackend["Service"]
  readonly key: SessionKey
  readonly options: ClaimOptions
  stopped: Deferred.Deferred<void>

  constructor(
    backend: InterruptBackend["Service"],
    key: SessionKey,
    options: ClaimOptions,
    stopped: Deferred.Deferred<void>
  ) {
    this.backend = backend
    this.key = key
    this.options = options
    this.stopped = stopped
    this.everyMs = Math.max(1, Duration.toMillis(options.leaseTtl) / 3)
  }

  get owner(): string {
    return this.runId
  }

  get ttl(): Duration.Duration {
    return this.options.leaseTtl
  }

  // a bound function, as a claim's `finish` may be passed around on its own
  readonly finish = (state: Exclude<RunState, "RUNNING">): Effect.Effect<void> =>
    Effect.suspend(() => {
      if (!this.held || this.finished) return Effect.void
      this.finished = true
      renewals(this.backend).remove(this)
      return Effect.flatMap(
        Clock.currentTimeMillis,
        (now) => this.backend.endRun(this.key, { state, runId: this.runId, updatedAt: now }, this.options.stateTtl)
      ).pipe(Effect.catchCause((cause) => Effect.logWarning("could not record the end of a run", cause)))
    })

  readonly onScopeClose = (exit: Exit.Exit<unknown, unknown>): Effect.Effect<void> =>
    this.finish(Exit.isFailure(exit) && !Cause.hasInterrupts(exit.cause) ? "ERROR" : "STOPPED")

  /**
   * The lease was found gone (a Redis restart, or an outage longer than the
   * lease): take it again if it is free, recording `RUNNING` again; if
   * another run holds it, this run is stopped (its client gets `response
   * canceled`), and the session's state, now the other run's, is left alone.
   */
  readonly retake: Effect.Effect<void, InterruptBackendError> = Effect.suspend(() => {
    if (!this.held || this.finished) return Effect.void
    return Effect.flatMap(this.backend.acquireLease(this.key, this.runId, this.options.leaseTtl), (taken) => {
      if (taken) {
        return Effect.flatMap(Clock.currentTimeMillis, (now) =>
          this.backend.setState(this.key, { state: "RUNNING", runId: this.runId, updatedAt: now }, this.options.stateTtl)
        ).pipe(Effect.andThen(Effect.logInfo(`the lease of session ${capId(this.key.sessionId)} was lost and taken again`)))
      }
      return Effect.flatMap(this.backend.leaseOwner(this.key), (owner) => {
        if (Option.getOrUndefined(owner) === this.runId) return Effect.void
        this.held = false
        this.finished = true
        renewals(this.backend).remove(this)
        Deferred.doneUnsafe(this.stopped, Exit.void)
        return Effect.logWarning(
          `the lease of session ${capId(this.key.sessionId)} was lost to another run: this run is stopped`
        )
      })
    })
  })
}

/** `onBusy: "interrupt"`: stops the running run, then retries the lease until it is free or time is up. */
const takeOver = (
  backend: InterruptBackend["Service"],
  key: SessionKey,
  running: RunRecord,
  lease: { held: boolean },
  options: ClaimOptions
): Effect.Effect<Deferred.Deferred<void> | undefined, InterruptBackendError, Scope.Scope> =>
  Effect.gen(function*() {
    const scope = yield* Effect.scope
    const attempt = Effect.gen(function*() {
      const listening = yield* Scope.fork(scope, "sequential")
      const stopped = yield* Scope.provide(backend.listen(key), listening)
      lease.held = yield* Effect.uninterruptible(backend.startRun(key, running, options.leaseTtl, options.stateTtl)).pipe(
        Effect.onError(() => Scope.close(listening, Exit.void))
      )
      if (lease.held) return Option.some(stopped)
      yield* Scope.close(listening, Exit.void)
      return Option.none<Deferred.Deferred<void>>()
    })
    yield* backend.signalStop(key)
    const taken = yield* attempt.pipe(
      Effect.repeat({ schedule: Schedule.spaced(Duration.millis(10)), until: Option.isSome }),
      Effect.timeoutOption(options.takeoverTimeout),
      Effect.map(Option.flatten)
    )
    return Option.getOrUndefined(taken)
  })

interface Renewal {
  readonly key: SessionKey
  readonly owner: string
  readonly ttl: Duration.Duration
  readonly everyMs: number
  nextAt: number
  /** What to do when the lease is found gone. */
  readonly retake: Effect.Effect<void, InterruptBackendError>
}

/** How soon a renewal that failed (the backend unreachable) is tried again. */
const retryMs = 200

/**
 * The lease renewals of one backend in this process, on one fiber, which runs
 * while any run holds a lease: a run costs a set entry, not a fiber and a
 * timer of its own.
 */
class Renewals {
  private readonly entries = new Set<Renewal>()
  private running = false
  /** How long the loop sleeps now, and what wakes it early (a run with a shorter lease). */
  private tickMs = 0
  private wake = Deferred.makeUnsafe<void>()
  private readonly loop: Effect.Effect<void>

  constructor(backend: InterruptBackend["Service"]) {
    // a renewal that fails is tried again soon, so that once the backend is back (a restarted Redis
    // has lost every lease) the lease is taken again before other runs can take the session
    let failing = false
    const renewOne = (entry: Renewal) =>
      backend.renewLease(entry.key, entry.owner, entry.ttl).pipe(
        Effect.flatMap((held) => held ? Effect.void : entry.retake),
        Effect.tap(() => Effect.sync(() => (failing = false))),
        Effect.catchCause((cause) =>
          Effect.suspend(() => {
            entry.nextAt = Date.now() + Math.min(entry.everyMs, retryMs)
            if (failing) return Effect.void
            failing = true
            return Effect.logWarning("could not renew a lease; trying again until the backend answers", cause)
          })
        )
      )
    const renewDue = Effect.suspend(() => {
      const now = Date.now()
      const due = [...this.entries].filter((entry) => entry.nextAt <= now)
      for (const entry of due) entry.nextAt = now + entry.everyMs
      return Effect.forEach(due, renewOne, { concurrency: 16, discard: true })
    })
    const loop: Effect.Effect<void> = Effect.suspend(() => {
      if (this.entries.size === 0) {
        this.running = false
        return Effect.void
      }
      // until the next renewal is due (one that failed is due soon)
      const now = Date.now()
      let tick = 1_000
      for (const entry of this.entries) tick = Math.min(tick, entry.everyMs, entry.nextAt - now)
      this.tickMs = Math.max(5, tick)
      this.wake = Deferred.makeUnsafe<void>()
      return Effect.raceFirst(Effect.sleep(Duration.millis(this.tickMs)), Deferred.await(this.wake)).pipe(
        Effect.andThen(renewDue),
        Effect.andThen(loop)
      )
    })
    // a daemon with no context of the run that started it (which would keep that request's objects alive
    // as long as the loop runs): it ends when no lease is left
    this.loop = Effect.asVoid(Effect.forkDetach(Effect.updateContext(loop, (_: Context.Context<never>) => Context.empty())))
  }

  /** Renews the lease of a run from now until `remove`. */
  start(entry: Renewal): Effect.Effect<void> {
    return Effect.suspend(() => {
      entry.nextAt = Date.now() + entry.everyMs
      this.entries.add(entry)
      if (this.running) {
        if (entry.everyMs < this.tickMs) Deferred.doneUnsafe(this.wake, Exit.void)
        return Effect.void
      }
      this.running = true
      return this.loop
    })
  }

  remove(entry: Renewal): void {
    this.entries.delete(entry)
  }
}

/** The renewals of each backend in this process. */
const renewers = new WeakMap<InterruptBackend["Service"], Renewals>()

const renewals = (backend: InterruptBackend["Service"]): Renewals => {
  let renewer = renewers.get(backend)
  if (renewer === undefined) renewers.set(backend, renewer = new Renewals(backend))
  return renewer
}

const signalStop = Effect.fnUntraced(function*(key: SessionKey) {
  const backend = yield* InterruptBackend
  const signal = yield* backend.signalStop(key)
  if (!signal.received) {
    const session = capId(key.sessionId)
    return yield* new NoActiveRun({
      userId: key.userId,
      sessionId: key.sessionId,
      message: signal.leaseExpiresAt === undefined
        ? `No run is active for session ${session}`
        : `No live run took the stop for session ${session}: its node does not answer, and its lease frees at ` +
          new Date(signal.leaseExpiresAt).toISOString(),
      ...(signal.leaseExpiresAt === undefined ? {} : { leaseExpiresAt: signal.leaseExpiresAt })
    })
  }
})

/**
 * Stops the run of a session, wherever it runs. Fails with `NoActiveRun`
 * when no run holds the session.
 *
 * With a tracing backend installed, the stop is an `Interrupt.stop` span.
 * Without one (Effect's native tracer, whose spans nobody can see) it makes
 * no span: a named `Effect.fn` span and its call-site stack cost about 70 µs
 * per stop, as much as the rest of a stop's own work.
 *
 * @since 0.1.0
 */
export const stop = (key: SessionKey): Effect.Effect<void, NoActiveRun | InterruptBackendError, InterruptBackend> =>
  Effect.withFiber((fiber) =>
    fiber.getRef(Tracer.Tracer) === Tracer.nativeTracer
      ? signalStop(key)
      : Effect.withSpan(signalStop(key), "Interrupt.stop")
  )

/**
 * The recorded state of a session's latest run.
 *
 * @since 0.1.0
 */
export const state = (key: SessionKey): Effect.Effect<Option.Option<RunRecord>, InterruptBackendError, InterruptBackend> =>
  InterruptBackend.use((backend) => backend.getState(key))
