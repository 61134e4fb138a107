/** The lease renewals of one backend in this process, on one fiber. */
import { Context, Deferred, Duration, Effect, Exit } from "effect"
import type { InterruptBackend, InterruptBackendError, SessionKey } from "./backend.ts"

export interface Renewal {
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

export const renewals = (backend: InterruptBackend["Service"]): Renewals => {
  let renewer = renewers.get(backend)
  if (renewer === undefined) renewers.set(backend, renewer = new Renewals(backend))
  return renewer
}
