/**
 * The health routes every app serves: `GET /` (what this service is and which
 * routes it has), `/health`, `/readiness` (503 while starting or draining) and
 * `/liveness`.
 *
 * @since 0.1.0
 */
import { Context, Duration, Effect, Layer } from "effect"
import { HttpRouter, HttpServerResponse } from "effect/http"
import { messageOf } from "./internal/util/failure.ts"
import { Lifecycle } from "./Lifecycle.ts"

/**
 * What `GET /` tells about the app, and the routes registered through
 * `AgentApp` (name → path). Only routes whose layers were built are listed.
 *
 * @since 0.1.0
 */
export class AppInfo extends Context.Service<AppInfo, {
  readonly name: string
  readonly description: string
  readonly version: string
  readonly endpoints: Map<string, string>
  /** Dependencies `/readiness` checks: name → an Effect that fails when it is unavailable. */
  readonly checks: Map<string, Effect.Effect<void, unknown>>
}>()("@agentapp/core/AppInfo") {}

/**
 * A layer that adds a readiness check: while `check` fails (or takes longer
 * than 2 s), `/readiness` answers 503 and names it.
 *
 * @example
 * ```ts
 * const DatabaseReady = Health.readinessCheck("database", Effect.flatMap(Database, (db) => db.ping))
 * ```
 *
 * @since 0.1.0
 */
export const readinessCheck = <E, R>(
  name: string,
  check: Effect.Effect<void, E, R>
): Layer.Layer<never, never, AppInfo | R> =>
  Layer.effectDiscard(Effect.gen(function*() {
    const info = yield* AppInfo
    const context = yield* Effect.context<R>()
    info.checks.set(name, Effect.provideContext(check, context))
  }))

const checkTimeout = Duration.seconds(2)

/**
 * A layer that lists a route in `GET /` when it is built.
 *
 * @since 0.1.0
 */
export const register = (name: string, path: string): Layer.Layer<never, never, AppInfo> =>
  Layer.effectDiscard(Effect.gen(function*() {
    const info = yield* AppInfo
    info.endpoints.set(name, path)
  }))

/**
 * The paths of the health routes.
 *
 * @since 0.1.0
 */
export const paths = {
  root: "/",
  health: "/health",
  readiness: "/readiness",
  liveness: "/liveness"
} as const

/**
 * The health routes.
 *
 * @since 0.1.0
 */
export const layer: Layer.Layer<never, never, HttpRouter.HttpRouter | AppInfo | Lifecycle> = Layer.unwrap(
  Effect.gen(function*() {
    const info = yield* AppInfo
    const lifecycle = yield* Lifecycle
    for (const [name, path] of Object.entries(paths)) info.endpoints.set(name, path)

    const root = Effect.sync(() =>
      HttpServerResponse.jsonUnsafe({
        service: info.name,
        name: info.name,
        description: info.description,
        version: info.version,
        endpoints: Object.fromEntries(info.endpoints)
      })
    )
    const health = Effect.sync(() =>
      HttpServerResponse.jsonUnsafe({
        status: "healthy",
        timestamp: new Date().toISOString(),
        service: info.name,
        version: info.version,
        phase: lifecycle.phase(),
        uptime_seconds: Math.round((Date.now() - lifecycle.startedAt) / 1000),
        active_runs: lifecycle.activeRuns()
      })
    )
    const ready = HttpServerResponse.jsonUnsafe({ status: "ready" })
    const readiness = Effect.gen(function*() {
      const phase = lifecycle.phase()
      if (phase !== "ready") return HttpServerResponse.jsonUnsafe({ status: "not_ready", reason: phase }, { status: 503 })
      if (info.checks.size === 0) return ready
      const failures = yield* Effect.forEach(
        info.checks,
        ([name, check]) =>
          check.pipe(
            Effect.timeout(checkTimeout),
            Effect.match({ onSuccess: () => [], onFailure: (error) => [[name, messageOf(error)] as const] })
          ),
        { concurrency: "unbounded" }
      ).pipe(Effect.map((results) => results.flat()))
      return failures.length === 0 ? ready : HttpServerResponse.jsonUnsafe(
        { status: "not_ready", reason: "dependency", checks: Object.fromEntries(failures) },
        { status: 503 }
      )
    })
    const liveness = HttpServerResponse.jsonUnsafe({ status: "alive" })

    return HttpRouter.addAll([
      HttpRouter.route("GET", paths.root, root),
      HttpRouter.route("GET", paths.health, health),
      HttpRouter.route("GET", paths.readiness, readiness),
      HttpRouter.route("GET", paths.liveness, Effect.succeed(liveness))
    ])
  })
)
