/** The stop listeners of one process, by key (re-exported by `Interrupt`). */
import { Deferred, Effect, Exit, type Scope } from "effect"
import { registerScoped } from "../util/scoped.ts"
import { keyString, type SessionKey } from "./backend.ts"

/**
 * The stop listeners of one process, by key: what every backend keeps
 * locally, whatever carries the signal between processes.
 *
 * @since 0.1.0
 */
export interface ListenerRegistry {
  /** `InterruptBackend.listen`: a Deferred for the key, until the scope closes. */
  readonly listen: (key: SessionKey) => Effect.Effect<Deferred.Deferred<void>, never, Scope.Scope>
  /** Completes the listeners of a key (by its `keyString`): how many there were. */
  readonly signal: (id: string) => number
  /** `InterruptBackend.listeners`. */
  readonly count: Effect.Effect<number>
}

/**
 * A registry of stop listeners, for backends.
 *
 * @since 0.1.0
 */
export const makeListenerRegistry = (): ListenerRegistry => {
  // a key's one listener as it is (almost every key has one), a set only for several
  const listeners = new Map<string, Deferred.Deferred<void> | Set<Deferred.Deferred<void>>>()
  let count = 0
  return {
    listen: (key) => {
      const id = keyString(key)
      const deferred = Deferred.makeUnsafe<void>()
      return registerScoped(() => {
        const listening = listeners.get(id)
        if (listening === undefined) listeners.set(id, deferred)
        else if (listening instanceof Set) listening.add(deferred)
        else listeners.set(id, new Set([listening, deferred]))
        count++
        return deferred
      }, () => {
        const listening = listeners.get(id)
        if (listening === deferred) {
          listeners.delete(id)
          count--
        } else if (listening instanceof Set && listening.delete(deferred)) {
          count--
          if (listening.size === 0) listeners.delete(id)
        }
        return Effect.void
      })
    },
    signal: (id) => {
      const listening = listeners.get(id)
      if (listening === undefined) return 0
      if (listening instanceof Set) {
        // a completed listener may leave the set at once (its run ends): count and copy first
        const all = [...listening]
        for (const deferred of all) Deferred.doneUnsafe(deferred, Exit.void)
        return all.length
      }
      Deferred.doneUnsafe(listening, Exit.void)
      return 1
    },
    count: Effect.sync(() => count)
  }
}
