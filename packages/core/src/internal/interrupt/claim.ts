/** How a run claims its session: the lease, its listener, takeover and the run's end (re-exported by `Interrupt`). */
import { Cause, Clock, Context, Deferred, Duration, Effect, Exit, Layer, Metric, Option, Schedule, Scope } from "effect"
import { runsQueued } from "../telemetry/observe.ts"
import { randomUuid } from "../util/ids.ts"
import {
  capId,
  InterruptBackend,
  type InterruptBackendError,
  type RunRecord,
  type RunState,
  SessionBusy,
  type SessionKey,
  TooManyRuns
} from "./backend.ts"
import { makeRenewals, type Renewal, type Renewals } from "./renewals.ts"

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
  readonly onBusy: "reject" | "interrupt" | "enqueue"
  /** With `onBusy: "interrupt"`, how long to wait for the old run to let go. */
  readonly takeoverTimeout: Duration.Duration
  /** With `onBusy: "enqueue"`, the most runs that wait per session. */
  readonly maxQueue?: number | undefined
  /** The most runs one user may have going at once, across sessions (and nodes, on a shared backend). */
  readonly runsPerUser?: number | undefined
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
 * Claims sessions for runs on one backend, renewing their leases on one
 * fiber of its own, which lives as long as the service's scope.
 *
 * @since 0.1.0
 */
export class Claims extends Context.Service<Claims, {
  /**
   * Claims a session for a run, for the life of the current scope: listens
   * for stop signals, takes the lease (renewed in the background), and
   * records `RUNNING`. Fails with `SessionBusy` when another run holds it.
   */
  readonly claim: (
    key: SessionKey,
    options: ClaimOptions
  ) => Effect.Effect<Claim, SessionBusy | TooManyRuns | InterruptBackendError, Scope.Scope>
}>()("@agentapp/core/Claims") {
  /**
   * Claims on the backend in context; the lease renewals run until the
   * current scope closes.
   *
   * @since 0.1.0
   */
  static readonly make: Effect.Effect<Claims["Service"], never, InterruptBackend | Scope.Scope> = Effect.gen(
    function*() {
      const backend = yield* InterruptBackend
      const renewals = yield* makeRenewals(backend)
      return Claims.of({ claim: (key, options) => claimWith(backend, renewals, key, options) })
    }
  )

  /**
   * Claims on the backend in context.
   *
   * @since 0.1.0
   */
  static readonly layer: Layer.Layer<Claims, never, InterruptBackend> = Layer.effect(Claims, Claims.make)
}

/**
 * Claims a session for a run, for the life of the current scope (see
 * {@link Claims}).
 *
 * @since 0.1.0
 */
export const claim = (
  key: SessionKey,
  options: ClaimOptions
): Effect.Effect<Claim, SessionBusy | TooManyRuns | InterruptBackendError, Claims | Scope.Scope> =>
  Claims.use((claims) => claims.claim(key, options))

const claimWith = Effect.fnUntraced(function*(
  backend: InterruptBackend["Service"],
  renewals: Renewals,
  key: SessionKey,
  options: ClaimOptions
) {
  // Listen before taking the lease, so that no stop can find the lease but miss the listener.
  // The first attempt listens in the run's own scope; a takeover retries in scopes of their own.
  const first = yield* backend.listen(key)
  const claim = new RunClaim(backend, renewals, key, options, first)

  // Registered before the lease is taken, and ending the run only once it holds the lease, so that
  // no interruption can fall between taking the lease and being sure to end it.
  // A run that ends without finishing was cut off (its client left, or it was interrupted): STOPPED,
  // unless it failed outright before it could run.
  yield* Scope.addFinalizerExit(yield* Effect.scope, claim.onScopeClose)

  const running: RunRecord = { state: "RUNNING", runId: claim.runId, updatedAt: yield* Clock.currentTimeMillis }
  yield* takeLease(backend, key, running, options, claim)
  if (!claim.held && options.onBusy === "interrupt") {
    const stopped = yield* takeOver(backend, key, running, claim, options)
    if (stopped !== undefined) claim.stopped = stopped
  }
  let full = false
  if (!claim.held && options.onBusy === "enqueue") {
    const turn = yield* waitTurn(backend, key, running, claim, options)
    if (turn === "full") full = true
    else if (turn !== undefined) claim.stopped = turn
  }
  if (!claim.held) {
    return yield* new SessionBusy({
      userId: key.userId,
      sessionId: key.sessionId,
      message: full
        ? `Session ${capId(key.sessionId)} has a running run and ${options.maxQueue ?? defaultMaxQueue} waiting: its queue is full`
        : `Session ${capId(key.sessionId)} already has a running run`
    })
  }
  renewals.add(claim)
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
  readonly renewals: Renewals
  readonly key: SessionKey
  readonly options: ClaimOptions
  stopped: Deferred.Deferred<void>

  constructor(
    backend: InterruptBackend["Service"],
    renewals: Renewals,
    key: SessionKey,
    options: ClaimOptions,
    stopped: Deferred.Deferred<void>
  ) {
    this.backend = backend
    this.renewals = renewals
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
      this.renewals.remove(this)
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
    return Effect.flatMap(Clock.currentTimeMillis, (now) =>
      this.backend.retakeRun(
        this.key,
        { state: "RUNNING", runId: this.runId, updatedAt: now },
        this.options.leaseTtl,
        this.options.stateTtl
      )).pipe(Effect.flatMap((retaken) => {
        if (retaken === "held") return Effect.void
        if (retaken === "taken") {
          return Effect.logInfo(`the lease of session ${capId(this.key.sessionId)} was lost and taken again`)
        }
        this.held = false
        this.finished = true
        this.renewals.remove(this)
        Deferred.doneUnsafe(this.stopped, Exit.void)
        return Effect.logWarning(
          `the lease of session ${capId(this.key.sessionId)} was lost to another run: this run is stopped`
        )
      }))
  })
}

/**
 * Takes the lease if it is free, and records on `lease` whether it did within
 * the same uninterruptible step: a run interrupted (its client gone) while the
 * backend answers must still learn that it holds the lease, or it would leave
 * the session locked until the lease expires.
 */
const takeLease = (
  backend: InterruptBackend["Service"],
  key: SessionKey,
  running: RunRecord,
  options: ClaimOptions,
  lease: { held: boolean }
): Effect.Effect<void, InterruptBackendError | TooManyRuns> =>
  Effect.uninterruptible(Effect.flatMap(backend.startRun(key, running, options.leaseTtl, options.stateTtl, options.runsPerUser), (held) => {
    lease.held = held === true
    return held === "limited"
      ? Effect.fail(new TooManyRuns({ userId: key.userId, message: `User ${capId(key.userId)} has ${options.runsPerUser} runs going, as many as allowed` }))
      : Effect.void
  }))

/**
 * One try at the lease with a listener of its own (in a scope under `scope`,
 * closed unless the lease is taken): the stop signal of a run that takes the
 * session after waiting.
 */
const listenAndTake = (
  backend: InterruptBackend["Service"],
  key: SessionKey,
  running: RunRecord,
  options: ClaimOptions,
  lease: { held: boolean },
  scope: Scope.Scope
): Effect.Effect<Option.Option<Deferred.Deferred<void>>, InterruptBackendError | TooManyRuns> =>
  Effect.gen(function*() {
    const listening = yield* Scope.fork(scope, "sequential")
    const stopped = yield* Scope.provide(backend.listen(key), listening)
    yield* takeLease(backend, key, running, options, lease).pipe(Effect.onError(() => Scope.close(listening, Exit.void)))
    if (lease.held) return Option.some(stopped)
    yield* Scope.close(listening, Exit.void)
    return Option.none<Deferred.Deferred<void>>()
  })

const defaultMaxQueue = 10

/** How often a waiting run looks whether its turn has come (it takes the lease as soon as it is first and the lease is free). */
const queuePoll = Duration.millis(20)

/** How long a waiting run's ticket lives without a look (a hundred missed polls: its node died). */
const ticketTtl = Duration.seconds(2)

/**
 * `onBusy: "enqueue"`: waits in the session's queue, in order of arrival
 * (across nodes with a shared backend), then takes the lease once it is
 * free. It listens for stops only from then: a stop meant for the run ahead
 * does not cancel it. `"full"` when `maxQueue` runs already wait.
 */
const waitTurn = (
  backend: InterruptBackend["Service"],
  key: SessionKey,
  running: RunRecord,
  lease: { held: boolean },
  options: ClaimOptions
): Effect.Effect<Deferred.Deferred<void> | "full" | undefined, InterruptBackendError | TooManyRuns, Scope.Scope> =>
  Effect.gen(function*() {
    const ticket = running.runId
    if (!(yield* backend.joinQueue(key, ticket, options.maxQueue ?? defaultMaxQueue, ticketTtl))) return "full"
    yield* Metric.update(runsQueued, 1)
    yield* Effect.addFinalizer(() => Effect.andThen(Metric.update(runsQueued, -1), Effect.ignore(backend.leaveQueue(key, ticket))))
    const scope = yield* Effect.scope
    const attempt = Effect.flatMap(backend.queueTurn(key, ticket, ticketTtl), (first) =>
      first
        ? listenAndTake(backend, key, { ...running, updatedAt: Date.now() }, options, lease, scope)
        : Effect.succeed(Option.none<Deferred.Deferred<void>>()))
    const taken = yield* Effect.repeat(attempt, { schedule: Schedule.spaced(queuePoll), until: Option.isSome })
    yield* backend.leaveQueue(key, ticket)
    return Option.getOrUndefined(taken)
  })

/** `onBusy: "interrupt"`: stops the running run, then retries the lease until it is free or time is up. */
const takeOver = (
  backend: InterruptBackend["Service"],
  key: SessionKey,
  running: RunRecord,
  lease: { held: boolean },
  options: ClaimOptions
): Effect.Effect<Deferred.Deferred<void> | undefined, InterruptBackendError | TooManyRuns, Scope.Scope> =>
  Effect.gen(function*() {
    const attempt = listenAndTake(backend, key, running, options, lease, yield* Effect.scope)
    yield* backend.signalStop(key)
    const taken = yield* attempt.pipe(
      Effect.repeat({ schedule: Schedule.spaced(Duration.millis(10)), until: Option.isSome }),
      Effect.timeoutOption(options.takeoverTimeout),
      Effect.map(Option.flatten)
    )
    return Option.getOrUndefined(taken)
  })
