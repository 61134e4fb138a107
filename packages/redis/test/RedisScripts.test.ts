import { Interrupt, SessionStore } from "@agentapp/core"
import { AgentAppRedis, RedisConnection } from "@agentapp/redis"
import { describe, expect, it } from "@effect/vitest"
import { Context, Duration, Effect, Layer, Option } from "effect"
import { acquireRedis, uniquePrefix } from "../../../test/support/redis.ts"

/** The Redis backends on a private prefix, with the connection they share. */
const build = Effect.gen(function*() {
  const { url } = yield* Effect.acquireRelease(
    Effect.promise(() => acquireRedis()),
    (redis) => Effect.promise(() => redis.release())
  )
  const prefix = uniquePrefix("scripts")
  const context = yield* Layer.build(
    AgentAppRedis.layer({ url, prefix, sessions: { ttl: Duration.minutes(1), maxHistory: 3 } })
  )
  return {
    prefix,
    redis: Context.get(context, RedisConnection.RedisConnection),
    store: Context.get(context, SessionStore.SessionStore),
    backend: Context.get(context, Interrupt.InterruptBackend)
  }
})

const message = (text: string) => ({ role: "user" as const, content: [{ type: "text" as const, text }] })
const texts = (history: ReadonlyArray<{ readonly content?: ReadonlyArray<unknown> | null | undefined }>) =>
  history.map((entry) => (entry.content?.[0] as { readonly text: string }).text)

describe("Redis scripts", () => {
  it.live("a session's turn refreshes the expiry of its history and state", () =>
    Effect.gen(function*() {
      const { prefix, redis, store } = yield* build
      const key: Interrupt.SessionKey = { userId: "u", sessionId: "s" }
      const base = `${prefix}:session:${Interrupt.keyString(key)}`
      yield* store.setState(key, { step: 1 })
      expect(yield* store.startTurn(key, [message("a")])).toEqual([])
      // both keys about to expire: the next append gives them the session TTL again
      yield* redis.use((client) => client.pexpire(`${base}:history`, 1_000))
      yield* redis.use((client) => client.pexpire(`${base}:state`, 1_000))
      yield* store.appendHistory(key, [message("b"), message("c"), message("d")])
      for (const suffix of ["history", "state"]) {
        const ttl = yield* redis.use((client) => client.pttl(`${base}:${suffix}`))
        expect(ttl).toBeGreaterThan(50_000)
        expect(ttl).toBeLessThanOrEqual(60_000)
      }
      // the newest three, in order
      expect(texts(yield* store.history(key))).toEqual(["b", "c", "d"])
    }))

  it.live("runs go on when Redis has forgotten the scripts (SCRIPT FLUSH)", () =>
    Effect.gen(function*() {
      const { backend, redis, store } = yield* build
      const key: Interrupt.SessionKey = { userId: "u", sessionId: "flushed" }
      const record = (state: Interrupt.RunState): Interrupt.RunRecord => ({ state, runId: "r1", updatedAt: 1 })
      expect(yield* backend.startRun(key, record("RUNNING"), Duration.seconds(30), Duration.minutes(1))).toBe(true)
      yield* store.startTurn(key, [message("a")])
      yield* redis.use((client) => client.script("FLUSH"))
      // every script runs again: sent by its SHA, refused with NOSCRIPT, then sent whole
      expect(texts(yield* store.startTurn(key, [message("b")]))).toEqual(["a"])
      expect(yield* backend.renewLease(key, "r1", Duration.seconds(30))).toBe(true)
      // no listener here: not received, and the lease it found is reported
      const signal = yield* backend.signalStop(key)
      expect(signal.received).toBe(false)
      expect(signal.leaseExpiresAt).toBeGreaterThan(Date.now())
      yield* backend.endRun(key, record("FINISHED"), Duration.minutes(1))
      expect(yield* backend.renewLease(key, "r1", Duration.seconds(30))).toBe(false)
      expect(Option.getOrThrow(yield* backend.getState(key)).state).toBe("FINISHED")
    }))
})
