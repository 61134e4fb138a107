/** The interrupt backend's service, its records, errors and session keys (re-exported by `Interrupt`). */
import { Context, type Deferred, Duration, Effect, type Option, Schema, type Scope } from "effect"
import { HttpServerRespondable } from "effect/http"
import { capText, errorResponse, tooManyRequests, unavailable } from "../http/httpError.ts"


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
}) {
  [HttpServerRespondable.symbol]() {
    return Effect.succeed(errorResponse(409, "session_busy", this.message))
  }
}

/**
 * A stop for a session that has no running run (HTTP 404 `not_found`).
 *
 * @since 0.1.0
 */
/**
 * The user has as many runs going as the app allows (`limits.runsPerUser`):
 * 429 `rate_limited`, with `Retry-After`.
 */
export class TooManyRuns extends Schema.TaggedError<TooManyRuns>()("TooManyRuns", {
  userId: Schema.String,
  message: Schema.String
}) {
  /** A hint: runs end at any time, and the next start may find room. */
  get retryAfter(): Duration.Duration {
    return Duration.seconds(1)
  }
  [HttpServerRespondable.symbol]() {
    return Effect.succeed(tooManyRequests(this.message, this.retryAfter))
  }
}

export class NoActiveRun extends Schema.TaggedError<NoActiveRun>()("NoActiveRun", {
  userId: Schema.String,
  sessionId: Schema.String,
  message: Schema.String,
  /**
   * When no live run took the stop but a lease still holds the session (its
   * node died, or does not answer): when that lease frees, unix ms.
   */
  leaseExpiresAt: Schema.optional(Schema.Number)
}) {
  [HttpServerRespondable.symbol]() {
    const lease = this.leaseExpiresAt
    return Effect.succeed(errorResponse(
      404,
      "not_found",
      this.message,
      lease === undefined ? undefined : { lease_expires_at: new Date(lease).toISOString() }
    ))
  }
}

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
}) {
  [HttpServerRespondable.symbol]() {
    return unavailable(this)
  }
}

/**
 * The primitives of an interrupt backend: only what `claim` and `stop` use.
 * Leases are owned by a run id and expire after their TTL unless renewed; a
 * stop signal reaches every listener of the key, on every node.
 *
 * @since 0.1.0
 */
export class InterruptBackend extends Context.Service<InterruptBackend, {
  /**
   * Starts a run in one step: takes the lease for `record.runId` if nobody
   * holds it and, when taken, records `record` (its `RUNNING` state), kept
   * for `stateTtl`. `true` when taken. With `perUser`, it is also refused
   * (`"limited"`) while the user's runs holding live leases are as many.
   */
  readonly startRun: (
    key: SessionKey,
    record: RunRecord,
    leaseTtl: Duration.Duration,
    stateTtl: Duration.Duration,
    perUser?: number | undefined
  ) => Effect.Effect<boolean | "limited", InterruptBackendError>
  /** Extends the lease if `owner` (a run id) still holds it: `false` when it was lost. */
  readonly renewLease: (
    key: SessionKey,
    owner: string,
    ttl: Duration.Duration
  ) => Effect.Effect<boolean, InterruptBackendError>
  /**
   * Takes the lease again for a run that found it gone (a restarted Redis
   * lost it), in one step: `"taken"` when it was free (and `record` is
   * recorded), `"held"` when `record.runId` holds it after all, `"lost"`
   * when another run does. Unlike `startRun`, it is not refused while the
   * backend settles after an outage: it is what the settling waits for.
   */
  readonly retakeRun: (
    key: SessionKey,
    record: RunRecord,
    leaseTtl: Duration.Duration,
    stateTtl: Duration.Duration
  ) => Effect.Effect<"taken" | "held" | "lost", InterruptBackendError>
  /**
   * Ends a run in one step: records its final `record`, kept for
   * `stateTtl`, and gives the lease up if `record.runId` still holds it.
   */
  readonly endRun: (
    key: SessionKey,
    record: RunRecord,
    stateTtl: Duration.Duration
  ) => Effect.Effect<void, InterruptBackendError>
  /**
   * Puts `ticket` (a waiting run's id) at the end of the key's queue, unless
   * `max` tickets already wait: `false` then. A ticket that is not renewed
   * by {@link queueTurn} within `ttl` (its node died) is dropped.
   */
  readonly joinQueue: (key: SessionKey, ticket: string, max: number, ttl: Duration.Duration) => Effect.Effect<boolean, InterruptBackendError>
  /** Renews `ticket` for `ttl` and says whether it is first in the queue (dead tickets ahead of it dropped). */
  readonly queueTurn: (key: SessionKey, ticket: string, ttl: Duration.Duration) => Effect.Effect<boolean, InterruptBackendError>
  /** Takes `ticket` out of the queue. */
  readonly leaveQueue: (key: SessionKey, ticket: string) => Effect.Effect<void, InterruptBackendError>
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
export const capId = (id: string): string => capText(id, 128)

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
