/**
 * A run that outlives its request (`background`, `on_disconnect: "continue"`,
 * A2A's `returnImmediately`): it holds its session in a scope of its own,
 * under the app's, closed when the run ends.
 */
import { Effect, Exit, Scope, Stream } from "effect"
import type * as Protocol from "../../Protocol.ts"
import type { Runs } from "./start.ts"

/**
 * Starts something that claims in the current scope (`start`) in a scope of
 * its own under `appScope`, and runs its `body` there to the end.
 */
export const detach = <A, E, R>(
  appScope: Scope.Scope,
  start: Effect.Effect<A, E, R | Scope.Scope>,
  body: (started: A) => Stream.Stream<unknown>
): Effect.Effect<A, E, Exclude<R, Scope.Scope>> =>
  Effect.gen(function*() {
    const scope = yield* Scope.fork(appScope)
    const started = yield* Scope.provide(start, scope).pipe(Effect.onError((cause) => Scope.close(scope, Exit.failCause(cause))))
    yield* Effect.forkIn(Effect.ensuring(Stream.runDrain(body(started)), Scope.close(scope, Exit.void)), appScope)
    return started
  })

/** A run of `runs` that outlives its request; its events go to the run log, where clients follow them. */
export const startDetached = <E>(runs: Runs<E>, appScope: Scope.Scope, request: Protocol.AgentRequest) =>
  detach(appScope, runs.start(request, undefined), runs.events)
