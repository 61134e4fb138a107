/**
 * Head sampling, as OpenTelemetry's `OTEL_TRACES_SAMPLER` and
 * `OTEL_TRACES_SAMPLER_ARG` describe it: whether a trace is recorded is
 * decided when it starts. A request's trace is decided once, when the HTTP
 * server asks whether to trace it: an unsampled request gets no server span
 * at all (Effect's single-step path), and the spans its run and handler
 * start follow the same decision. Effect's spans carry the decision
 * (`sampled`), their children inherit it, and its OTLP exporter sends only
 * sampled ones.
 */
import { Config, Context, Fiber, Option, Schema, Tracer } from "effect"
import { HttpServerRequest, HttpTraceContext } from "effect/http"

/** The samplers of the OpenTelemetry specification (its environment variables). */
export const samplers = [
  "always_on",
  "always_off",
  "traceidratio",
  "parentbased_always_on",
  "parentbased_always_off",
  "parentbased_traceidratio"
] as const

/** Which traces are recorded. */
export interface Sampler {
  readonly name: typeof samplers[number]
  /** The fraction of traces a `traceidratio` sampler records, from 0 to 1. */
  readonly ratio: number
}

/** `OTEL_TRACES_SAMPLER` (default `parentbased_always_on`) and `OTEL_TRACES_SAMPLER_ARG` (default 1). */
export const samplerConfig: Config.Config<Sampler> = Config.all({
  name: Config.Literals(samplers, "OTEL_TRACES_SAMPLER").pipe(Config.withDefault("parentbased_always_on" as const)),
  ratio: Config.schema(Schema.Number.check(Schema.isBetween({ minimum: 0, maximum: 1 })), "OTEL_TRACES_SAMPLER_ARG").pipe(
    Config.withDefault(1)
  )
})

const threshold = 0x100000000

/** Whether a trace id falls within `ratio`, read from its last 8 hex digits: the same answer on every node. */
const inRatio = (traceId: string, ratio: number): boolean => Number.parseInt(traceId.slice(-8), 16) < ratio * threshold

/** A tracer that samples, and the HTTP server's question: whether a request goes untraced (none: every one is traced). */
export interface Sampling {
  readonly tracer: Tracer.Tracer
  readonly untraced: ((request: HttpServerRequest.HttpServerRequest) => boolean) | undefined
}

/** `tracer` with `sampler` deciding each trace as it starts. */
export const sampling = (tracer: Tracer.Tracer, sampler: Sampler): Sampling => {
  // the default follows the caller, and records every trace of its own: what Effect does unsampled
  if (sampler.name === "parentbased_always_on") return { tracer, untraced: undefined }
  const parentBased = sampler.name.startsWith("parentbased_")
  const decide = (parent: Tracer.AnySpan | undefined): boolean => {
    if (parent !== undefined && parentBased) return parent.sampled
    if (sampler.name.endsWith("always_off")) return false
    if (sampler.name === "always_on") return true
    // a new trace's id is random, so a draw decides it; a caller's trace id decides it the same on every node
    return parent === undefined ? Math.random() < sampler.ratio : inRatio(parent.traceId, sampler.ratio)
  }
  // each request's decision, made when the server first asks; the root spans started under it follow it
  const decisions = new WeakMap<object, boolean>()
  const ofRequest = (request: HttpServerRequest.HttpServerRequest): boolean => {
    let sampled = decisions.get(request)
    if (sampled === undefined) {
      sampled = decide(Option.getOrUndefined(HttpTraceContext.fromHeaders(request.headers)))
      decisions.set(request, sampled)
    }
    return sampled
  }
  const rootDecision = (): boolean => {
    const fiber = Fiber.getCurrent()
    const request = fiber && Context.getOrUndefined(fiber.context, HttpServerRequest.HttpServerRequest)
    return request === undefined ? decide(undefined) : ofRequest(request)
  }
  return {
    tracer: Tracer.make({
      ...tracer,
      span: (options) => {
        const parent = Option.getOrUndefined(options.parent)
        // unsampled by Effect: below the minimum trace level, or under an unsampled parent, which a
        // parent-based sampler follows (the others decide from the trace id: the same for the whole trace)
        if (!options.sampled && (parentBased || parent === undefined || parent.sampled)) return tracer.span(options)
        const sampled = parent === undefined ? rootDecision() : decide(parent)
        return tracer.span(sampled === options.sampled ? options : { ...options, sampled })
      }
    }),
    untraced: (request) => !ofRequest(request)
  }
}
