/**
 * OpenTelemetry: traces, metrics and logs over OTLP/HTTP, configured by the
 * standard `OTEL_*` variables (`OTEL_EXPORTER_OTLP_ENDPOINT`,
 * `OTEL_SERVICE_NAME`, `OTEL_BSP_SCHEDULE_DELAY`, ...), with Effect's OTLP
 * exporters. Without an endpoint nothing is installed, and agentapp makes no
 * span and measures no run (its spans and run metrics are made only under a
 * tracer that sends them somewhere).
 *
 * What is sent: the request's span (Effect's HTTP server), under it an
 * `agentapp.run` span per run (response id, session, user, status) with the
 * handler's own spans under it, `Interrupt.stop` spans, `agentapp.lease.renew`
 * spans; the metrics `agentapp_runs_in_flight`, `agentapp_runs_total` (by
 * status), `agentapp_time_to_first_event_ms`, `agentapp_stop_latency_ms`,
 * `agentapp_runs_queued`; and the logs, each with its span's trace id.
 *
 * @example
 * ```ts
 * // OTEL_EXPORTER_OTLP_ENDPOINT=http://collector:4318 node dist/main.mjs
 * const Main = Friday.serve(Routes).pipe(Layer.provide(listen), Layer.provide(Telemetry.layer({ serviceName: "friday" })))
 * ```
 *
 * @since 0.1.0
 */
import { type Config, ConfigProvider, Context, Effect, Layer, Tracer } from "effect"
import { FetchHttpClient, HttpMiddleware } from "effect/http"
import { Otlp, type OtlpExporter, OtlpSerialization } from "effect/observability"
import { samplerConfig, sampling } from "./internal/telemetry/sampler.ts"

/**
 * The OTLP exporters, from the `OTEL_*` configuration; nothing without an
 * endpoint. `serviceName` (default `agentapp`) and `serviceVersion` are the
 * defaults of `OTEL_SERVICE_NAME` and `OTEL_SERVICE_VERSION`, which win.
 * `OTEL_TRACES_SAMPLER` and `OTEL_TRACES_SAMPLER_ARG` choose the traces
 * recorded, as in OpenTelemetry's SDKs (default `parentbased_always_on`:
 * every trace, unless a caller's `traceparent` says it is not sampled);
 * `parentbased_traceidratio` with a ratio records that fraction of the
 * traces that start here. Metrics and logs are not sampled.
 *
 * @since 0.1.0
 */
export const layer = (options?: {
  readonly serviceName?: string | undefined
  readonly serviceVersion?: string | undefined
}): Layer.Layer<OtlpExporter.Flusher, Config.ConfigError> =>
  // the sampler is read first: a bad one stops the start before any exporter is made (and flushed on the way out)
  Layer.unwrap(Effect.map(samplerConfig, (sampler) =>
    Layer.flatMap(
      Otlp.layerFromConfig({ loggerMergeWithExisting: true }).pipe(
        Layer.provide([FetchHttpClient.layer, OtlpSerialization.layerJson])
      ),
      (exporters) =>
        Layer.effectContext(Effect.gen(function*() {
          const tracer = Context.get(exporters, Tracer.Tracer)
          if (tracer === Tracer.nativeTracer) return exporters
          const { tracer: sampled, untraced } = sampling(tracer, sampler)
          const withTracer = Context.add(exporters, Tracer.Tracer, sampled)
          if (untraced === undefined) return withTracer
          // an unsampled request gets no server span (and what the app itself leaves untraced stays so)
          const disabledWhen = yield* HttpMiddleware.TracerDisabledWhen
          return Context.add(withTracer, HttpMiddleware.TracerDisabledWhen, (request) => disabledWhen(request) || untraced(request))
        }))
    )
  )).pipe(
    // defaults under the configuration, which wins: as the OpenTelemetry spec has it, an endpoint exports all
    // three signals unless OTEL_*_EXPORTER says otherwise (Effect's exporters wait for OTEL_*_EXPORTER=otlp)
    Layer.provide(ConfigProvider.layerAdd(ConfigProvider.fromUnknown({
      OTEL_TRACES_EXPORTER: "otlp",
      OTEL_METRICS_EXPORTER: "otlp",
      OTEL_LOGS_EXPORTER: "otlp",
      OTEL_SERVICE_NAME: options?.serviceName ?? "agentapp",
      ...(options?.serviceVersion === undefined ? {} : { OTEL_SERVICE_VERSION: options.serviceVersion })
    })))
  )
