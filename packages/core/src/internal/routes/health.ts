/** The health routes every app serves: `GET /`, `/health`, `/readiness` and `/liveness`. */
import { Duration, Effect, Layer } from "effect"
import { HttpRouter, HttpServerResponse } from "effect/http"
import { AppInfo } from "../../Health.ts"
import { Lifecycle } from "../../Lifecycle.ts"
import { messageOf } from "../util/failure.ts"
import * as ApiDocs from "../../ApiDocs.ts"

const checkTimeout = Duration.seconds(2)

/**
 * The paths of the health routes.

 */
export const paths = {
  root: "/",
  health: "/health",
  readiness: "/readiness",
  liveness: "/liveness"
} as const

/**
 * The health routes.

 */
export const healthRoutes: Layer.Layer<never, never, HttpRouter.HttpRouter | AppInfo | Lifecycle | ApiDocs.Operations> = Layer.unwrap(
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
        endpoints: Object.fromEntries(info.endpoints),
        routes: info.routes
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

    const json = (description: string) => ({ "200": { description, contentType: "application/json" } })
    return Layer.mergeAll(
      HttpRouter.addAll([
        HttpRouter.route("GET", paths.root, root),
        HttpRouter.route("GET", paths.health, health),
        HttpRouter.route("GET", paths.readiness, readiness),
        HttpRouter.route("GET", paths.liveness, Effect.succeed(liveness))
      ]),
      ApiDocs.describe("GET", paths.root, { summary: "The app: name, version, its named endpoints and every route", tags: ["health"], responses: json("`{service, name, description, version, endpoints, routes}`") }),
      ApiDocs.describe("GET", paths.health, { summary: "Health: phase, uptime, runs in flight", tags: ["health"], open: true, responses: json("`{status: \"healthy\", timestamp, phase, uptime_seconds, active_runs}`") }),
      ApiDocs.describe("GET", paths.readiness, {
        summary: "Readiness: 503 while starting, draining, or while a backend is unreachable",
        tags: ["health"],
        open: true,
        responses: { ...json("`{status: \"ready\"}`"), "503": { description: "`{status: \"not_ready\", reason, checks?}`", contentType: "application/json" } }
      }),
      ApiDocs.describe("GET", paths.liveness, { summary: "Liveness", tags: ["health"], open: true, responses: json("`{status: \"alive\"}`") })
    )
  })
)
