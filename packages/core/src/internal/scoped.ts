import { Effect, Scope } from "effect"

/**
 * Registers something until the current scope closes: a cheaper
 * `acquireRelease` for a synchronous registration. The release is added
 * first, so that no interruption can fall between the two; it must therefore
 * be harmless when the registration never happened.
 */
export const registerScoped = <A>(register: () => A, release: () => void): Effect.Effect<A, never, Scope.Scope> =>
  Effect.flatMap(
    Effect.scope,
    (scope) => Effect.andThen(Scope.addFinalizer(scope, Effect.sync(release)), Effect.sync(register))
  )
