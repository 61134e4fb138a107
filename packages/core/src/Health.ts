/**
 * What the health routes report: `GET /` (what this service is and which
 * routes it has) lists the routes registered with {@link register}, and
 * `/readiness` (503 while starting or draining) runs the checks added with
 * {@link readinessCheck}.
 *
 * @since 0.1.0
 */
import { Context, Effect, Layer } from "effect"

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
  /** Every route the app serves, as `METHOD /path` (listed by `GET /`). */
  readonly routes: Array<string>
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
