/**
 * The embedded backends keep a bounded amount of memory whatever the load:
 * beyond their limits the oldest entries go first.
 */
import { Interrupt, type Protocol, RunLog, SessionStore } from "@agentapp/core"
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

  it.effect("run logs: at most maxRuns runs under 10,000, the oldest dropped first; each within maxEvents", () =>
    Effect.gen(function*() {
      const log = RunLog.makeMemory({ maxRuns: 500, maxEvents: 20 })
      const event = (id: string, seq: number): Protocol.Event => ({
        sequence_number: seq,
        object: "response",
        status: "in_progress",
        error: null,
        id,
        created_at: 0,
        completed_at: null,
        output: [],
        usage: null,
        session_id: "s"
      })
      for (let n = 0; n < 10_000; n++) {
        const id = `response_${n}`
        const writer = yield* log.open({ responseId: id, sessionId: `s${n}`, userId: "u", runId: `r${n}` })
        for (let seq = 0; seq < 30; seq++) writer.append([event(id, seq)])
      }
      const kept = yield* Effect.forEach(Array.from({ length: 10_000 }, (_, n) => n), (n) =>
        Effect.map(Effect.option(log.read(`response_${n}`)), Option.map((snapshot) => snapshot.frames.length)))
      const present = kept.flatMap((frames, n) => Option.isSome(frames) ? [n] : [])
      expect(present.length).toBeGreaterThan(400)
      expect(present.length).toBeLessThanOrEqual(500)
      // the newest are those kept
      expect(present[0]).toBeGreaterThanOrEqual(9_500)
      expect(present[present.length - 1]).toBe(9_999)
      for (const n of present) expect(Option.getOrThrow(kept[n])).toBeLessThanOrEqual(20)
    }))

  it.effect("run logs: at most maxBytes of frames in all, the oldest written over first; a run with none left is gone", () =>
    Effect.gen(function*() {
      const log = RunLog.makeMemory({ maxBytes: 64 * 1024 })
      const frame = "x".repeat(1_000)
      const event = (id: string, seq: number, status: "in_progress" | "completed"): Protocol.Event => ({
        sequence_number: seq,
        object: "response",
        status,
        error: null,
        id,
        created_at: 0,
        completed_at: null,
        output: [],
        usage: { note: frame },
        session_id: "s"
      })
      // 200 runs of 10 frames of about 1 KB: 2 MB through a ring of 64 KiB
      for (let n = 0; n < 200; n++) {
        const id = `response_${n}`
        const writer = yield* log.open({ responseId: id, sessionId: `s${n}`, userId: "u", runId: `r${n}` })
        for (let seq = 0; seq < 10; seq++) writer.append([event(id, seq, seq === 9 ? "completed" : "in_progress")])
      }
      expect(Option.isNone(yield* Effect.option(log.read("response_0")))).toBe(true)
      const last = yield* log.read("response_199")
      expect(last.frames).toHaveLength(10)
      expect(last.ended).toBe(true)
      expect(RunLog.responseSoFar(last).status).toBe("completed")
    }))
})
