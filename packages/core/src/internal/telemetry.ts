/**
 * What agentapp tells an OpenTelemetry backend: a span per run (a child of
 * the request's, with the handler's own spans under it), the stop and lease
 * renewal spans, and the runs' metrics. All of it only when a tracer other
 * than Effect's native one is installed (`Telemetry.layer` with an OTLP
 * endpoint): otherwise nobody can see it, and it costs nothing.
 */
import { Effect, Metric, Stream, Tracer } from "effect"
import type { RunOptions } from "./run/eventsPull.ts"

/** Whether spans and metrics are observed: a tracer other than the native one is installed. */
export const observed: Effect.Effect<boolean> = Effect.withFiber((fiber) =>
  Effect.succeed(fiber.getRef(Tracer.Tracer) !== Tracer.nativeTracer)
)

const millis = Metric.exponentialBoundaries({ start: 1, factor: 2, count: 16 })

/** Runs started and not yet ended, on this node. */
export const runsInFlight = Metric.counter("agentapp_runs_in_flight", { description: "Runs going on this node" })
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
 * Observes a run, in the current scope (the run's): its `agentapp.run` span
 * (a child of the request's, ended with the scope), the parent of the
 * handler's own spans; its time to first event, its end by status, and the
 * runs in flight.
 */
export const observeRun = (context: { readonly responseId: string; readonly sessionId: string; readonly userId: string }) =>
  Effect.gen(function*() {
    const services = yield* Effect.context<never>()
    const span = yield* Effect.makeSpanScoped("agentapp.run", {
      attributes: {
        "agentapp.response_id": context.responseId,
        "agentapp.session_id": context.sessionId,
        "agentapp.user_id": context.userId
      }
    })
    runsInFlight.updateUnsafe(1, services)
    yield* Effect.addFinalizer(() => Effect.sync(() => runsInFlight.updateUnsafe(-1, services)))
    const started = Date.now()
    let first = true
    return {
      outputs: <A, E, R>(outputs: Stream.Stream<A, E, R>) => Stream.provideService(outputs, Tracer.ParentSpan, span),
      options: (options: RunOptions): RunOptions => ({
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
            span.attribute("agentapp.status", response.status)
            endedBy[response.status]?.updateUnsafe(1, services)
            return options.onEnd?.(response) ?? Effect.void
          })
      })
    }
  })

/** `effect` in a span named `name`, when spans are observed. */
export const spanned = <A, E, R>(name: string, effect: Effect.Effect<A, E, R>, attributes?: Record<string, unknown>): Effect.Effect<A, E, R> =>
  Effect.withFiber((fiber) =>
    fiber.getRef(Tracer.Tracer) === Tracer.nativeTracer ? effect : Effect.withSpan(effect, name, { attributes, captureStackTrace: false })
  )
