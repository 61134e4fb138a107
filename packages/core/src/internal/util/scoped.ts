import { Effect, Scope } from "effect"

/**
 * Registers something until the current scope closes: a cheaper
 * `acquireRelease` for a synchronous registration. The release is added
 * first, so that no interruption can fall between the two; it must therefore
 * be harmless when the registration never happened.
 *
 * `release` is the scope's finalizer itself (it does its work and returns
 * `Effect.void`): an open stream keeps its finalizers for its whole life, and
 * `Scope.addFinalizer` would wrap an `Effect.sync` in one more closure.
 */
export const registerScoped = <A>(register: () => A, release: () => Effect.Effect<void>): Effect.Effect<A, never, Scope.Scope> =>
  Effect.flatMap(
    Effect.scope,
    (scope) => Effect.andThen(Scope.addFinalizerExit(scope, release), Effect.sync(register))
  )
