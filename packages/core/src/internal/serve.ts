import { Effect, Exit, Layer, Option, Scope } from "effect"
import { RateLimiter } from "effect/persistence"
import * as ApiDocs from "../ApiDocs.ts"
import * as Auth from "../Auth.ts"
import { apiDocsRoutes } from "./apiDocs/routes.ts"
import { guard, type RateLimit } from "./auth/guard.ts"
import { HttpMiddleware, HttpServer, HttpServerRequest, HttpServerResponse } from "effect/http"
import * as Health from "../Health.ts"
import { Lifecycle } from "../Lifecycle.ts"
import { reportRunsInFlight } from "./telemetry/observe.ts"
import * as HttpError from "./http/httpError.ts"
import { healthRoutes, paths } from "./routes/health.ts"
import { KeepAlive } from "./http/keepAlive.ts"
import { type RoutesEffect, toHttpEffect } from "./http/router.ts"
import type { ServeOptions, Settings } from "./settings.ts"
import * as Tasks from "./tasks.ts"

/**
 * Serves the routes of an app: health routes, lifecycle, task workers, graceful drain; it
 * answers from the first moment, with 503 `starting` until the app's layers are built.
 */
export const serveRoutes = <A, E, R>(
  settings: Settings,
  app: Layer.Layer<A, E, R>,
  options?: ServeOptions
) => {
  const info = Layer.sync(Health.AppInfo, () => ({
    name: settings.name,
    description: settings.description,
    version: settings.version,
    endpoints: new Map<string, string>(),
    routes: [],
    checks: new Map<string, Effect.Effect<void, unknown>>()
  }))
  const operations = Layer.sync(ApiDocs.Operations, () => new Map<string, ApiDocs.Operation>())
  const registry = Layer.sync(Tasks.TaskRegistry, () => ({
    role: options?.role ?? "both",
    runners: new Map<string, Map<string, Tasks.Runner>>()
  }))
  const serveApp = Layer.effectDiscard(Effect.gen(function*() {
    const lifecycle = yield* Lifecycle
    const scope = yield* Effect.scope
    yield* reportRunsInFlight(lifecycle.activeRuns)
    // The app's layers live in a scope of their own, closed last: after the drain and after the
    // server has stopped taking requests.
    const appScope = yield* Scope.fork(scope, "sequential")
    yield* Effect.addFinalizer(() => Scope.close(appScope, Exit.void))

    // Requests are answered from the start: while the app is built, the health routes say so
    // and the rest get 503 `starting`, rather than hanging until the routes exist.
    // (the routes also need, per request, what the app's routes require: the server's context has it)
    let routes: RoutesEffect<R> | undefined
    const starting = HttpServerRequest.HttpServerRequest.useSync(startingResponse(lifecycle))
    const routed = yield* protect(settings, Effect.suspend(() => routes ?? starting))
    const handler = settings.cors === undefined ? routed : HttpMiddleware.cors({
      allowedOrigins: settings.cors.origins,
      allowedMethods: settings.cors.methods,
      allowedHeaders: settings.cors.headers,
      exposedHeaders: settings.cors.exposedHeaders,
      credentials: settings.cors.credentials,
      maxAge: settings.cors.maxAge ?? 600
    })(routed)
    yield* HttpServer.serveEffect(
      settings.logRequests ? HttpMiddleware.logger(handler) : handler
    )
    // a worker answers only the health routes, whatever routes the app adds (its own, or native
    // ones), and `GET /` lists only those
    const healthPaths = new Set<string>(Object.values(paths))
    const worker = options?.role === "worker"
    const accept = worker ? (path: string) => healthPaths.has(path) : () => true
    const { routes: listed } = yield* Health.AppInfo
    routes = yield* Scope.provide(
      toHttpEffect(
        Layer.mergeAll(app, healthRoutes, settings.apiDocs === false ? Layer.empty : apiDocsRoutes(settings.apiDocs)),
        accept,
        (method, path) => listed.push(`${method} ${path}`)
      ),
      appScope
    )
    if (worker) {
      const { endpoints } = yield* Health.AppInfo
      for (const [name, path] of endpoints) if (!healthPaths.has(path)) endpoints.delete(name)
    }

    // Added after the server: on shutdown it runs first, draining the runs before the server closes.
    yield* Effect.addFinalizer(() => lifecycle.drain({ grace: settings.shutdownGracePeriod }))
    yield* Tasks.startWorkers({ concurrency: settings.concurrency })
    yield* lifecycle.markReady
  }))
  return HttpServer.withLogAddress(serveApp).pipe(
    Layer.provide(Layer.mergeAll(Lifecycle.layer, info, registry, KeepAlive.layer(settings.keepAlive), operations))
  )
}

/** The health probes answer without credentials from the start, before any route has described itself. */
const probes: ReadonlySet<string> = new Set([paths.health, paths.liveness, paths.readiness])

/** `handler` behind the app's `Auth`, if it has one, and its users' request rate. */
const protect = <E, R>(settings: Settings, handler: Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>) =>
  Effect.gen(function*() {
    const auth = yield* Effect.serviceOption(Auth.Auth)
    const perMinute = settings.requestsPerMinute
    if (Option.isNone(auth)) {
      if (perMinute !== undefined) yield* Effect.logWarning("limits.requestsPerMinute needs an Auth layer: requests are not limited")
      return handler
    }
    const store = Option.getOrUndefined(yield* Effect.serviceOption(RateLimiter.RateLimiterStore))
    const rate: RateLimit | undefined = perMinute === undefined ? undefined : {
      requestsPerMinute: perMinute,
      limiter: yield* (store === undefined
        ? Effect.provide(RateLimiter.make, RateLimiter.layerStoreMemory)
        : Effect.provideService(RateLimiter.make, RateLimiter.RateLimiterStore, store))
    }
    // besides the probes, the routes whose description says `open` (ApiDocs.Operation)
    const operations = yield* ApiDocs.Operations
    return guard(auth.value, rate, (method, path) =>
      probes.has(path) || operations.get(`${method === "HEAD" ? "GET" : method} ${path}`)?.open === true)(handler)
  })

/** The answers given while the app is still being built. */
const startingResponse = (lifecycle: Lifecycle["Service"]) => (request: HttpServerRequest.HttpServerRequest) => {
  const path = request.url.split("?")[0]
  if (path === paths.liveness) return HttpServerResponse.jsonUnsafe({ status: "alive" })
  if (path === paths.readiness || path === paths.health) {
    return HttpServerResponse.jsonUnsafe({ status: "not_ready", reason: lifecycle.phase() }, { status: 503 })
  }
  return HttpError.errorResponse(503, "starting", "The server is starting")
}
