/**
 * The life of a served app: `starting` until every layer is up, `ready` while
 * it serves, `draining` once shutdown begins. It counts the runs in flight so
 * that shutdown can let them finish within a grace period, then cancel the
 * rest with a terminal `response canceled`.
 *
 * @since 0.1.0
 */
import { Context, Deferred, Duration, Effect, Exit, Latch, Layer, type Scope } from "effect"
import { registerScoped } from "./internal/util/scoped.ts"

/**
 * @since 0.1.0
 */
export type Phase = "starting" | "ready" | "draining"

/**
 * What {@link Lifecycle} does with a run in flight when shutdown begins.
 *
 * @since 0.1.0
 */
export interface TrackOptions {
  /** Called when shutdown begins while the run is in flight. */
  readonly onDrain?: (() => void) | undefined
  /** Completed if the run is still in flight when the grace period ends. */
  readonly cancel?: Deferred.Deferred<void> | undefined
}

/**
 * The lifecycle service. `AgentApp.serve` provides one per server.
 *
 * @since 0.1.0
 */
export class Lifecycle extends Context.Service<Lifecycle, {
  /** The current phase, read without an Effect on the hot path. */
  readonly phase: () => Phase
  /** Unix milliseconds at which the service started. */
  readonly startedAt: number
  /** How many runs are in flight. */
  readonly activeRuns: () => number
  /** Marks the app ready: `/readiness` answers 200 from now on. */
  readonly markReady: Effect.Effect<void>
  /**
   * Counts a run as in flight until the current scope closes. `onDrain` is
   * called if shutdown begins meanwhile (for example to close its connection
   * after the last frame instead of keeping it alive); `cancel` is completed
   * if it still runs when the grace period ends.
   */
  readonly enter: (options?: TrackOptions) => Effect.Effect<void, never, Scope.Scope>
  /**
   * Begins shutdown: readiness turns 503, runs get `grace` to finish, the rest
   * are canceled, and it returns when none is left (or `flush` has passed).
   */
  readonly drain: (options: {
    readonly grace: Duration.Input
    readonly flush?: Duration.Input | undefined
  }) => Effect.Effect<void>
}>()("@agentapp/core/Lifecycle") {
  /**
   * Builds a lifecycle in the `starting` phase.
   *
   * @since 0.1.0
   */
  static readonly make = Effect.gen(function*() {
    let phase: Phase = "starting"
    let active = 0
    const idle = Latch.makeUnsafe(true)

    const runs = new Set<TrackOptions>()
    let canceling = false
    const enter = (run: TrackOptions) => {
      if (active++ === 0) idle.closeUnsafe()
      runs.add(run)
      if (phase === "draining") run.onDrain?.()
      if (canceling && run.cancel) Deferred.doneUnsafe(run.cancel, Exit.void)
    }
    const leave = (run: TrackOptions) => {
      if (runs.delete(run) && --active === 0) idle.openUnsafe()
      return Effect.void
    }

    const drain = Effect.fn("Lifecycle.drain")(function*(options: {
      readonly grace: Duration.Input
      readonly flush?: Duration.Input | undefined
    }) {
      phase = "draining"
      for (const run of runs) run.onDrain?.()
      if (active > 0) {
        yield* Effect.logInfo(`shutting down: waiting for ${active} run(s) to finish`)
        yield* Effect.timeoutOption(idle.await, options.grace)
        if (active === 0) yield* Effect.logInfo("shutting down: all runs finished")
      }
      canceling = true
      for (const run of runs) if (run.cancel) Deferred.doneUnsafe(run.cancel, Exit.void)
      if (active > 0) {
        yield* Effect.logInfo(`shutting down: canceling ${active} run(s) after the grace period`)
        yield* Effect.timeoutOption(idle.await, options.flush ?? Duration.seconds(5))
      }
    })

    return Lifecycle.of({
      phase: () => phase,
      startedAt: Date.now(),
      activeRuns: () => active,
      markReady: Effect.sync(() => {
        if (phase === "starting") phase = "ready"
      }),
      enter: (options) => {
        const run: TrackOptions = { onDrain: options?.onDrain, cancel: options?.cancel }
        return registerScoped(() => enter(run), () => leave(run))
      },
      drain
    })
  })

  /**
   * A fresh lifecycle.
   *
   * @since 0.1.0
   */
  static readonly layer: Layer.Layer<Lifecycle> = Layer.effect(Lifecycle, Lifecycle.make)
}
