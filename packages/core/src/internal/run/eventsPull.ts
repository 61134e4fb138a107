/**
 * The pull loop of a run ({@link open}): the handler's outputs pulled, numbered
 * by its `RunState`, chunked as they are ready, canceled by its signal.
 */
import { Cause, Channel, Deferred, Effect, type Exit, Fiber, Pull, Scope, type Stream } from "effect"
import type * as Output from "../../Output.ts"
import type * as Protocol from "../../Protocol.ts"
import { onDone } from "../private.ts"
import { type NonEmptyArray, type RunContext, RunState } from "./runState.ts"

/** How a run is canceled and what it records at its end (`Runner.RunOptions`). */
export interface RunOptions {
  /**
   * Completed when the run must stop: the handler's stream is interrupted
   * (its finalizers run) and the run ends with `response canceled`.
   */
  readonly cancel?: Deferred.Deferred<void> | undefined
  /**
   * Runs with the terminal response just before it is emitted, so that what
   * it records (state, history, the session lease) is settled by the time a
   * client sees the end of the run.
   */
  readonly onEnd?: ((response: Protocol.ResponseEvent) => Effect.Effect<void>) | undefined
  /**
   * Sees every chunk of events as it leaves, the terminal one included; and,
   * when the consumer leaves before the end, the canceled ending that nobody
   * else sees (the run log records it).
   */
  readonly onEvents?: ((events: Events) => void) | undefined
}

/** A chunk of events: never empty. */
export type Events = NonEmptyArray<Protocol.Event>

/**
 * A run opened by {@link open}: pull its events chunk by chunk, or hand the
 * rest of them to a writer with `drain`.
 */
export interface OpenRun<R> {
  /** The next chunk of events that are ready together; `Cause.Done` after the terminal event. */
  readonly pull: Pull.Pull<Events, never, void, R>
  /**
   * The rest of the run, after the chunks already pulled: each chunk goes to
   * `write` as soon as it is ready, and `drain` ends after the terminal
   * event's chunk. The handler is pulled in one fiber for the whole run
   * (where `pull` starts a fiber per pull of the handler, to find out
   * whether it is ready at once), so a waiting stream costs one fiber
   * resumption per chunk. Chunks that are ready together are not gathered:
   * `write` may get several in one tick, and should coalesce them (a corked
   * socket does).
   */
  readonly drain: (write: (events: Events) => Effect.Effect<void>) => Effect.Effect<void, never, R>
}

/**
 * Opens a run in the current scope, for {@link OpenRun.pull} and
 * {@link OpenRun.drain}.
 */
export const open = <E, R>(
  context: RunContext,
  outputs: Stream.Stream<Output.AgentOutput, E, R>,
  options?: RunOptions
): Effect.Effect<OpenRun<R>, never, R | Scope.Scope> =>
  Effect.flatMap(
    Effect.scope,
    // each pull runs with the services of the fiber that pulls (`Stream.toPull` would merge the
    // context of this moment into every pull)
    (scope) =>
      Effect.map(
        Channel.toPullScoped(outputs.channel, scope),
        (upstream): OpenRun<R> => new EventsPull(context, upstream, scope, options)
      )
  )

/**
 * One pull loop for the whole run (no concatenated streams): the opening events, then the
 * handler's outputs as events, then the terminal events once it ends, fails or is canceled.
 */
export const eventsPull = <E, R>(
  context: RunContext,
  pull: Pull.Pull<ReadonlyArray<Output.AgentOutput>, E, unknown, R>,
  scope: Scope.Scope,
  options: RunOptions | undefined
): Pull.Pull<Events, never, void, R> => new EventsPull(context, pull, scope, options).pull


/** What a pull of the handler's outputs ends with: outputs, a failure, or `Cause.Done`. */
type OutputsExit<E> = Exit.Exit<ReadonlyArray<Output.AgentOutput>, E | Cause.Done<unknown>>
type OutputsFiber<E> = Fiber.Fiber<ReadonlyArray<Output.AgentOutput>, E | Cause.Done<unknown>>

/**
 * The state of a run's events ({@link OpenRun}): one object per run, whose
 * methods the pulls share (an open stream keeps it for its whole life, so it
 * holds only the closures it hands out).
 *
 * In `pull`, each pull of the handler runs in a fiber of its own, started at once, so that a
 * pull that completes synchronously (a handler that emits without waiting) is done when it
 * returns. Events that are ready together leave together, as one chunk (one socket write):
 * pulls go on while they complete at once, and a pull that has to wait is carried to the next
 * chunk. In `drain`, one fiber pulls the handler inline for the rest of the run. The first time
 * the run waits, it starts to listen for the cancel signal, without a fiber of its own: the
 * signal interrupts the pull in flight (or the fiber of `drain`), and the body ends.
 */
class EventsPull<E, R> implements OpenRun<R> {
  private readonly run: RunState
  private readonly upstream: Pull.Pull<ReadonlyArray<Output.AgentOutput>, E, unknown, R>
  private readonly scope: Scope.Scope
  private readonly cancel: Deferred.Deferred<void> | undefined
  private readonly onEnd: RunOptions["onEnd"]
  private readonly onEvents: RunOptions["onEvents"]
  private phase: "start" | "body" | "done" = "start"
  private pending: OutputsFiber<E> | undefined = undefined
  /** The fiber of `drain`, once it runs, and its next step. */
  private draining: Fiber.Fiber<void, never> | undefined = undefined
  private drainStep: Effect.Effect<void, never, R> | undefined = undefined
  /** The events that wait with the pull in flight. */
  private waiting: Array<Protocol.Event> = []
  private listening = false
  /** Whether the run's scope interrupts the run's fibers when it closes. */
  private owning = false

  constructor(
    context: RunContext,
    upstream: Pull.Pull<ReadonlyArray<Output.AgentOutput>, E, unknown, R>,
    scope: Scope.Scope,
    options: RunOptions | undefined
  ) {
    this.run = new RunState(context)
    this.upstream = upstream
    this.scope = scope
    this.cancel = options?.cancel
    this.onEnd = options?.onEnd
    this.onEvents = options?.onEvents
  }

  readonly pull: Effect.Effect<Events, Cause.Done, R> = Effect.suspend(() => {
    if (this.phase === "start") {
      this.phase = "body"
      // the opening events wait for the first outputs only if those are ready at once
      return this.gather(this.run.start())
    }
    if (this.phase === "done") return Cause.done()
    if (this.pending !== undefined) return this.awaitPending(this.pending, [])
    return this.gather([])
  })

  /** A run cut off before its end (its client left) ends canceled in what sees its events. */
  private cut(): void {
    if (this.onEvents === undefined) return
    this.run.cancel()
    const ending = this.run.finish()
    if (ending.length > 0) this.onEvents(ending as Events)
  }

  /** Called when the cancel signal comes: interrupts the pull in flight. */
  private readonly onCancel = () => {
    this.run.cancel()
    // the pull in flight, whoever awaits it (which then ends the run); or else what `drain` waits on
    if (this.pending !== undefined) this.pending.interruptUnsafe()
    else this.draining?.interruptUnsafe()
  }

  private readonly onPendingExit = (exit: OutputsExit<E>) => {
    this.pending = undefined
    const events = this.waiting
    this.waiting = []
    return this.settle(exit, events)
  }

  private awaitPending(fiber: OutputsFiber<E>, events: Array<Protocol.Event>): Effect.Effect<Events, Cause.Done, R> {
    this.pending = fiber
    this.waiting = events
    const awaited = Effect.flatMap(Fiber.await(fiber), this.onPendingExit)
    return this.listen(awaited)
  }

  /**
   * Starts `effect` in a fiber of the run: not a child of the fiber that pulls, which may end
   * before the run does (a web handler's request fiber ends once it has the response, while
   * the body streams on). A fiber that is still running belongs to the run's scope, which
   * interrupts it (and waits for its finalizers) when it closes; registering that is not
   * interruptible, so that no fiber can escape it.
   */
  private fork<A, E2>(effect: Effect.Effect<A, E2, R>): Effect.Effect<Fiber.Fiber<A, E2>, never, R> {
    return Effect.uninterruptible(Effect.flatMap(Effect.forkDetach(effect, { startImmediately: true }), (fiber) =>
      this.owning || fiber.pollUnsafe() !== undefined ? Effect.succeed(fiber) : Effect.as(this.own(), fiber)))
  }

  private own(): Effect.Effect<void> {
    this.owning = true
    return Scope.addFinalizerExit(this.scope, () =>
      Effect.suspend(() => {
        const running = [this.pending, this.draining].filter((fiber) => fiber !== undefined)
        const stopped = running.length === 0 ? Effect.void : Fiber.interruptAll(running)
        return this.onEvents === undefined ? stopped : Effect.andThen(stopped, Effect.sync(() => this.cut()))
      }))
  }

  /** `effect`, after the run starts to listen for the cancel signal, if it does not yet. */
  private listen<A, E2, R2>(effect: Effect.Effect<A, E2, R2>): Effect.Effect<A, E2, R2> {
    if (this.listening || this.cancel === undefined) return effect
    this.listening = true
    return Effect.andThen(onDone(this.cancel, this.onCancel, this.scope), effect)
  }

  drain(write: (events: Events) => Effect.Effect<void>): Effect.Effect<void, never, R> {
    return Effect.suspend(() => {
      if (this.phase === "done") return Effect.void
      const pending = this.pending
      // built once per run and reused for every pull, as each lives until the next chunk
      const onPulled = (exit: OutputsExit<E>) => this.drained(exit, write)
      const step: Effect.Effect<void, never, R> = Effect.suspend(() => {
        if (this.phase === "done") return Effect.void
        if (this.isCanceled()) return this.closeTo(write, endOfBody)
        return pulled
      })
      const pulled = Effect.flatMap(Effect.exit(this.upstream), onPulled)
      this.drainStep = step
      const loop = pending === undefined ? step : Effect.flatMap(Fiber.await(pending), (exit) => {
        this.pending = undefined
        return onPulled(exit)
      })
      return this.listen(Effect.flatMap(this.fork(loop), (fiber) => {
        this.draining = fiber
        return Effect.flatMap(Fiber.await(fiber), (exit) => {
          this.draining = undefined
          if (exit._tag === "Success") return Effect.void
          // canceled: the pull in flight was cut off, and the terminal events go out from here
          if (this.run.isCanceled && Cause.hasInterruptsOnly(exit.cause)) return this.closeTo(write, endOfBody)
          return Effect.failCause(exit.cause)
        })
      }))
    })
  }

  /** What a pull of `drain` gave: a chunk to write, then the next pull; or the end of the run. */
  private drained(exit: OutputsExit<E>, write: (events: Events) => Effect.Effect<void>): Effect.Effect<void, never, R> {
    if (exit._tag === "Success") {
      const events = this.run.push(exit.value)
      if (events.length === 0) return this.drainStep!
      this.onEvents?.(events as Events)
      return Effect.andThen(write(events as Events), this.drainStep!)
    }
    if (this.run.isCanceled && Cause.hasInterruptsOnly(exit.cause)) return this.closeTo(write, endOfBody)
    return this.closeTo(write, exit.cause)
  }

  /** Ends the run with `cause` and writes its last chunk. */
  private closeTo(write: (events: Events) => Effect.Effect<void>, cause: Cause.Cause<E | Cause.Done<unknown>>) {
    // `close` fails only with the interruption of the fiber that pulls, never with `Done`
    return Effect.flatMap(this.close([], cause), write) as Effect.Effect<void, never, R>
  }

  private isCanceled(): boolean {
    if (!this.run.isCanceled && this.cancel !== undefined && Deferred.isDoneUnsafe(this.cancel)) this.run.cancel()
    return this.run.isCanceled
  }

  /** Pulls on while pulls complete at once, then gives what is ready. */
  private gather(events: Array<Protocol.Event>): Effect.Effect<Events, Cause.Done, R> {
    if (this.isCanceled()) return this.close(events, endOfBody)
    if (events.length >= maxChunkEvents) return this.emit(events as Events)
    return Effect.flatMap(this.fork(this.upstream), (fiber) => {
      const exit = fiber.pollUnsafe()
      if (exit !== undefined) return this.settle(exit, events)
      if (events.length > 0) {
        this.pending = fiber
        return this.emit(events as Events)
      }
      return this.awaitPending(fiber, events)
    })
  }

  /** What a pull of the handler gave: more events, or the end of the body. */
  private settle(exit: OutputsExit<E>, events: Array<Protocol.Event>): Effect.Effect<Events, Cause.Done, R> {
    if (exit._tag === "Success") {
      const out = this.run.push(exit.value)
      for (let i = 0; i < out.length; i++) events.push(out[i])
      return this.gather(events)
    }
    if (this.run.isCanceled && Cause.hasInterruptsOnly(exit.cause)) return this.close(events, endOfBody)
    return this.close(events, exit.cause)
  }

  /** A chunk that leaves: `onEvents` sees it first (in `drain`, `drained` and `end` are where chunks leave). */
  private emit(events: Events): Effect.Effect<Events> {
    if (this.onEvents === undefined) return Effect.succeed(events)
    this.onEvents(events)
    // a run that goes on after this chunk may be cut off: its scope's finalizer ends it in the log
    return this.owning || this.phase === "done" ? Effect.succeed(events) : Effect.as(this.own(), events)
  }

  // the terminal events go out once `onEnd` has recorded them
  private end(events: Array<Protocol.Event>, terminal: Array<Protocol.Event>): Effect.Effect<Events> {
    for (let i = 0; i < terminal.length; i++) events.push(terminal[i])
    if (this.onEnd === undefined) return this.emit(events as Events)
    return Effect.flatMap(this.onEnd(terminal[terminal.length - 1] as Protocol.ResponseEvent), () => this.emit(events as Events))
  }

  private close(events: Array<Protocol.Event>, cause: Cause.Cause<E | Cause.Done<unknown>>): Effect.Effect<Events, Cause.Done, R> {
    this.phase = "done"
    if (Pull.isDoneCause(cause)) return this.end(events, this.run.finish())
    // the consumer itself is interrupted (its client left): nobody is listening
    if (Cause.hasInterruptsOnly(cause)) return Effect.failCause(cause as Cause.Cause<never>)
    return Effect.andThen(Effect.logError("agent handler failed", cause), this.end(events, this.run.fail(cause)))
  }
}

/** The cause with which a body ends normally. */
const endOfBody: Cause.Cause<Cause.Done> = Cause.fail(Cause.Done())

/** The most events in one chunk, so that a handler that never waits still streams. */
const maxChunkEvents = 512

