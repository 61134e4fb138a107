/** The lease renewals of one backend, on one fiber of the scope that made them. */
import { Deferred, Duration, Effect, Exit, type Scope } from "effect"
import type { InterruptBackend, InterruptBackendError, SessionKey } from "./backend.ts"
import { spanned } from "../telemetry/observe.ts"

/** A lease to renew: one per run, while the run holds its session. */
export interface Renewal {
  readonly key: SessionKey
  readonly owner: string
  readonly ttl: Duration.Duration
  readonly everyMs: number
  nextAt: number
  /** What to do when the lease is found gone. */
  readonly retake: Effect.Effect<void, InterruptBackendError>
}

/** The renewals of a backend: a run costs a set entry, not a fiber and a timer of its own. */
export interface Renewals {
  /** Renews the lease of a run from now until `remove`. */
  readonly add: (entry: Renewal) => void
  readonly remove: (entry: Renewal) => void
}

/** How soon a renewal that failed (the backend unreachable) is tried again. */
const retryMs = 200

/**
 * Starts the renewal fiber in the current scope (it is interrupted when the
 * scope closes); it sleeps until a lease is added.
 */
export const makeRenewals = (backend: InterruptBackend["Service"]): Effect.Effect<Renewals, never, Scope.Scope> =>
  Effect.suspend(() => {
    const entries = new Set<Renewal>()
    /** How long the loop sleeps now, and what wakes it early (the first lease, or a shorter one). */
    let tickMs = 0
    let wake = Deferred.makeUnsafe<void>()
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
      const due = [...entries].filter((entry) => entry.nextAt <= now)
      for (const entry of due) entry.nextAt = now + entry.everyMs
      if (due.length === 0) return Effect.void
      return spanned("agentapp.lease.renew", Effect.forEach(due, renewOne, { concurrency: 16, discard: true }), { "agentapp.leases": due.length })
    })
    const step = Effect.suspend(() => {
      wake = Deferred.makeUnsafe<void>()
      if (entries.size === 0) {
        tickMs = Number.POSITIVE_INFINITY
        return Deferred.await(wake)
      }
      // until the next renewal is due (one that failed is due soon)
      const now = Date.now()
      let tick = 1_000
      for (const entry of entries) tick = Math.min(tick, entry.everyMs, entry.nextAt - now)
      tickMs = Math.max(5, tick)
      return Effect.andThen(Effect.raceFirst(Effect.sleep(Duration.millis(tickMs)), Deferred.await(wake)), renewDue)
    })
    return Effect.as(Effect.forkScoped(Effect.forever(step)), {
      add: (entry) => {
        entry.nextAt = Date.now() + entry.everyMs
        entries.add(entry)
        if (entry.everyMs < tickMs) Deferred.doneUnsafe(wake, Exit.void)
      },
      remove: (entry) => {
        entries.delete(entry)
      }
    })
  })
