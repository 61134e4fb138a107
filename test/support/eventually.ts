import { Duration, Effect } from "effect"

/**
 * Succeeds once `check` gives `true`, checking every 10 ms; fails with a
 * timeout after `ms`. For waiting on state that another fiber or process
 * changes, with a deadline instead of a sleep.
 */
export const eventually = <E, R>(check: Effect.Effect<boolean, E, R>, ms = 3_000): Effect.Effect<void, unknown, R> => {
  const loop: Effect.Effect<void, E, R> = Effect.flatMap(
    check,
    (done) => done ? Effect.void : Effect.andThen(Effect.sleep(Duration.millis(10)), loop)
  )
  return Effect.timeout(loop, Duration.millis(ms))
}
