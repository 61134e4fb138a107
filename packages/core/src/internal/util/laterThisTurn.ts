import { Effect } from "effect"
import { clearImmediate, setImmediate } from "node:timers"

/**
 * Resumes in the check phase of this turn of the event loop, after the I/O
 * the turn polled. (`Effect.yieldNow` does the same through the fiber's
 * scheduler, which then keeps a dispatcher of its own for the fiber's life.)
 */
export const laterThisTurn: Effect.Effect<void> = Effect.callback<void>((resume) => {
  const immediate = setImmediate(() => resume(Effect.void))
  return Effect.sync(() => clearImmediate(immediate))
})
