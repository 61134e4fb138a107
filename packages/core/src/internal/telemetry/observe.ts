/**
 * What agentapp tells an OpenTelemetry backend: a span per run (a child of
 * the request's, with the handler's own spans under it), the stop and lease
 * renewal spans, and the runs' metrics. Spans and per-run metrics only when
 * a tracer other than Effect's native one is installed (`Telemetry.layer`
 * with an OTLP endpoint): otherwise nobody can see them. Runs in flight and
 * queued runs are kept regardless, off `/process`'s path: the first is read
 * when exported, the second counted as runs wait.
 */
import { Context, Effect, Metric, Scope, Tracer } from "effect"
import type { RunOptions } from "../run/eventsPull.ts"

/**
 * What is observed of what starts now: nothing under the native tracer;
 * metrics only under a parent span that is not sampled (its children would
 * not be recorded either); or spans and metrics.
 */
export const observed: Effect.Effect<"off" | "metrics" | "traced"> = Effect.withFiber((fiber) => {
  if (fiber.getRef(Tracer.Tracer) === Tracer.nativeTracer) return Effect.succeed("off")
  const parent = Context.getOrUndefined(fiber.context, Tracer.ParentSpan)
  return Effect.succeed(parent === undefined || parent.sampled ? "traced" : "metrics")
})

const millis = Metric.exponentialBoundaries({ start: 1, factor: 2, count: 16 })

/** Runs started and not yet ended, on this node: read from the lifecycle when exported, not counted per run. */
export const runsInFlight = Metric.gauge("agentapp_runs_in_flight", { description: "Runs going on this node" })

/** Reports the lifecycle's count of runs as `agentapp_runs_in_flight` until the scope closes. */
export const reportRunsInFlight = (activeRuns: () => number): Effect.Effect<void, never, Scope.Scope> =>
  Effect.withFiber((fiber) => {
    const registration = Metric.registerUnsafe(runsInFlight, fiber.context, {
      get: () => ({ value: activeRuns() }),
      update: () => {},
      modify: () => {}
    })
    return Effect.addFinalizer(() => Effect.sync(() => registration.remove()))
  })
/** Runs ended, by terminal status (`completed`, `failed`, `canceled`). */
export const runsEnded = Metric.counter("agentapp_runs_total", { description: "Runs ended, by status", incremental: true })
const endedBy: Partial<Record<string, Metric.Metric<number, unknown>>> = {
  completed: Metric.withAttributes(runsEnded, { status: "completed" }),
  failed: Metric.withAttributes(runsEnded, { status: "failed" }),
  canceled: Metric.withAttributes(runsEnded, { status: "canceled" })
}
/** From a run's start to its first event, ms. */
export const firstEvent = Metric.histogram("agentapp_time_to_first_event_ms", { description: "Time to a run's first event", boundaries: millis })
/** From a stop's request to the signal delivered, ms. */
export const stopLatency = Metric.histogram("agentapp_stop_latency_ms", { description: "Time to deliver a stop", boundaries: millis })
/** Runs waiting for their session's turn (`sessions.onBusy: "enqueue"`), on this node. */
export const runsQueued = Metric.counter("agentapp_runs_queued", { description: "Runs waiting for their session" })

/**
 * Observes a run: when `traced`, its `agentapp.run` span in the current
 * scope (the run's; a child of the request's), which the caller makes the
 * parent of the handler's own spans; its time to first event and its end by
 * status. Nothing is added to the run's scope when it is not traced.
 */
export const observeRun = (
  context: { readonly responseId: string; readonly sessionId: string; readonly userId: string },
  traced: boolean
): Effect.Effect<Observation, never, Scope.Scope> =>
  Effect.withFiber((fiber) => {
    if (!traced) return Effect.succeed(observation(fiber.context, undefined))
    return Effect.map(
      Effect.makeSpanScoped("agentapp.run", {
        attributes: {
          "agentapp.response_id": context.responseId,
          "agentapp.session_id": context.sessionId,
          "agentapp.user_id": context.userId
        }
      }),
      // an unsampled span (its request's trace is not recorded) is no parent worth providing
      (span) => observation(fiber.context, span.sampled ? span : undefined)
    )
  })

/** What observes a run: its span, if traced, and the options that time it and count its end. */
export interface Observation {
  readonly span: Tracer.Span | undefined
  readonly options: (options: RunOptions) => RunOptions
}

const observation = (services: Context.Context<never>, span: Tracer.Span | undefined): Observation => {
  const started = Date.now()
  let first = true
  return {
    span,
    options: (options) => ({
      ...options,
      onEvents: (events) => {
        if (first) {
          first = false
          firstEvent.updateUnsafe(Date.now() - started, services)
        }
        options.onEvents?.(events)
      },
      onEnd: (response) =>
        Effect.suspend(() => {
          span?.attribute("agentapp.status", response.status)
          endedBy[response.status]?.updateUnsafe(1, services)
          return options.onEnd?.(response) ?? Effect.void
        })
    })
  }
}

/** `effect` in a span named `name`, when spans are observed. */
export const spanned = <A, E, R>(name: string, effect: Effect.Effect<A, E, R>, attributes?: Record<string, unknown>): Effect.Effect<A, E, R> =>
  Effect.withFiber((fiber) =>
    fiber.getRef(Tracer.Tracer) === Tracer.nativeTracer ? effect : Effect.withSpan(effect, name, { attributes, captureStackTrace: false })
  )
