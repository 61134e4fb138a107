import type { Clock } from "effect"
import { Effect } from "effect"

/**
 * For a backend built once: runs `f` with the time of `clock` (the clock of
 * the layer's build) in one operation, where `Clock.currentTimeMillis` looks
 * the clock up in the fiber's context on every call.
 */
export const withTimeOf = (clock: Clock.Clock) => <A>(f: (now: number) => A): Effect.Effect<A> =>
  Effect.sync(() => f(clock.currentTimeMillisUnsafe()))
