/**
 * The embedded backends keep a bounded amount of memory whatever the load:
 * beyond their limits the oldest entries go first.
 */
import { Interrupt, SessionStore } from "@agentapp/core"
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Option } from "effect"
import { TestClock } from "effect/testing"

const key = (n: number): Interrupt.SessionKey => ({ userId: "u", sessionId: `s${n}` })

describe("memory backends stay bounded", () => {
  it.effect("run states: at most maxStates, the oldest written dropped first", () =>
    Effect.gen(function*() {
      const backend = yield* Interrupt.makeMemory({ maxStates: 3 })
      const ttl = Duration.minutes(10)
      for (let n = 0; n < 5; n++) {
        yield* backend.endRun(key(n), { state: "FINISHED", runId: `r${n}`, updatedAt: n }, ttl)
      }
      // rewriting an old one makes it the newest (an entry is moved at most once a second)
      yield* TestClock.adjust(Duration.seconds(1))
      yield* backend.endRun(key(2), { state: "STOPPED", runId: "r2b", updatedAt: 9 }, ttl)
      yield* backend.endRun(key(5), { state: "ERROR", runId: "r5", updatedAt: 10 }, ttl)
      const kept = yield* Effect.forEach([0, 1, 2, 3, 4, 5], (n) => backend.getState(key(n)))
      expect(kept.map(Option.map((record) => record.runId))).toEqual([
        Option.none(),
        Option.none(),
        Option.some("r2b"),
        Option.none(),
        Option.some("r4"),
        Option.some("r5")
      ])
    }).pipe(Effect.scoped))

  it.effect("sessions: at most maxSessions, the least recently used dropped first", () =>
    Effect.gen(function*() {
      const store = yield* SessionStore.makeMemory({ maxSessions: 2 })
      const message = (text: string) => [{ role: "user" as const, content: [{ type: "text" as const, text }] }]
      yield* store.appendHistory(key(0), message("zero"))
      yield* store.appendHistory(key(1), message("one"))
      // (an entry is moved to the most recently used end at most once a second)
      yield* TestClock.adjust(Duration.seconds(1))
      yield* store.history(key(0)) // used: key 1 is now the least recent
      yield* store.appendHistory(key(2), message("two"))
      expect((yield* store.history(key(0))).length).toBe(1)
      expect(yield* store.history(key(1))).toEqual([])
      expect((yield* store.history(key(2))).length).toBe(1)
    }).pipe(Effect.scoped))

  it.effect("large bounds drop the oldest sixteenth at once, keeping the newest", () =>
    Effect.gen(function*() {
      const backend = yield* Interrupt.makeMemory({ maxStates: 1_600 })
      const store = yield* SessionStore.makeMemory({ maxSessions: 1_600 })
      const ttl = Duration.minutes(10)
      const message = [{ role: "user" as const, content: [{ type: "text" as const, text: "hi" }] }]
      for (let n = 0; n <= 1_600; n++) {
        yield* backend.endRun(key(n), { state: "FINISHED", runId: `r${n}`, updatedAt: n }, ttl)
        yield* store.appendHistory(key(n), message)
      }
      // the 1,601st write went over the bound: the oldest 101 went, 1,500 are left
      const states = yield* Effect.forEach([0, 100, 101, 1_600], (n) => backend.getState(key(n)))
      expect(states.map(Option.isSome)).toEqual([false, false, true, true])
      const histories = yield* Effect.forEach([0, 100, 101, 1_600], (n) => store.history(key(n)))
      expect(histories.map((history) => history.length)).toEqual([0, 0, 1, 1])
    }).pipe(Effect.scoped))
})
