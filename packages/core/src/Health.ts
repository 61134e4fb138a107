/**
 * The health routes every app serves: `GET /` (what this service is and which
 * routes it has), `/health`, `/readiness` (503 while starting or draining) and
 * `/liveness`.
 *
 * @since 0.1.0
 */
import { Context, Effect, Layer } from "effect"
import { HttpRouter, HttpServerRequest, HttpServerResponse } from "effect/http"
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
}>()("@agentapp/core/AppInfo") {}

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

/** Any request no route matches: a JSON 404 rather than an empty one. */
const notFound = Effect.gen(function*() {
  const request = yield* HttpServerRequest.HttpServerRequest
  return HttpServerResponse.jsonUnsafe(
    { error: { code: "not_found", message: `No route for ${request.method} ${request.url.split("?")[0]}` } },
    { status: 404 }
  )
})

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
    const readiness = Effect.sync(() => {
      const phase = lifecycle.phase()
      return phase === "ready"
        ? HttpServerResponse.jsonUnsafe({ status: "ready" })
        : HttpServerResponse.jsonUnsafe({ status: "not_ready", reason: phase }, { status: 503 })
    })
    const liveness = HttpServerResponse.jsonUnsafe({ status: "alive" })

    return HttpRouter.addAll([
      HttpRouter.route("GET", paths.root, root),
      HttpRouter.route("GET", paths.health, health),
      HttpRouter.route("GET", paths.readiness, readiness),
      HttpRouter.route("GET", paths.liveness, Effect.succeed(liveness)),
      HttpRouter.route("*", "*", notFound)
    ])
  })
)
