/**
 * The conformance suite of `SessionStore`: what every store (memory, Redis,
 * a custom one) must do. It uses only the service interface.
 */
import { Interrupt, SessionStore } from "@agentapp/core"
import { expect, layer } from "@effect/vitest"
import { Effect, Layer, Option, Schema } from "effect"

const fresh = (): Interrupt.SessionKey => ({ userId: `u-${crypto.randomUUID()}`, sessionId: `s-${crypto.randomUUID()}` })

class AgentState extends Schema.Class<AgentState>("AgentState")({
  turns: Schema.Int,
  notes: Schema.Array(Schema.String),
  lastSeen: Schema.DateTimeUtcFromString
}) {}

const text = (role: "user" | "assistant", text: string) => ({
  role,
  type: "message" as const,
  content: [{ type: "text" as const, text }]
})

/** `maxHistory` is the history limit the store under test was built with. */
export const sessionStoreSuite = <E>(
  name: string,
  store: Layer.Layer<SessionStore.SessionStore, E>,
  options: { readonly maxHistory: number }
) =>
  layer(store, { excludeTestServices: true })(`SessionStore conformance: ${name}`, (it) => {
    it.effect("state round-trips through its Schema, per session", () =>
      Effect.gen(function*() {
        const key = fresh()
        expect(yield* SessionStore.load(key, AgentState)).toEqual(Option.none())
        const state = new AgentState({
          turns: 3,
          notes: ["likes tea"],
          lastSeen: Schema.decodeSync(Schema.DateTimeUtcFromString)("2026-01-02T03:04:05.000Z")
        })
        yield* SessionStore.save(key, AgentState, state)
        const loaded = yield* SessionStore.load(key, AgentState)
        expect(Option.getOrThrow(loaded)).toEqual(state)
        expect(yield* SessionStore.load({ ...key, sessionId: `${key.sessionId}-other` }, AgentState))
          .toEqual(Option.none())
        expect(yield* SessionStore.load({ ...key, userId: `${key.userId}-other` }, AgentState)).toEqual(Option.none())
      }))

    it.effect("a state saved with another shape fails to load with SessionStoreError", () =>
      Effect.gen(function*() {
        const key = fresh()
        yield* SessionStore.save(key, Schema.Struct({ other: Schema.String }), { other: "x" })
        const error = yield* SessionStore.load(key, AgentState).pipe(Effect.flip)
        expect(error._tag).toBe("SessionStoreError")
      }))

    it.effect("what is read back is a copy", () =>
      Effect.gen(function*() {
        const store = yield* SessionStore.SessionStore
        const key = fresh()
        const value = { list: [1, 2] }
        yield* store.setState(key, value)
        value.list.push(3)
        const read = Option.getOrThrow(yield* store.getState(key)) as { list: Array<number> }
        expect(read).toEqual({ list: [1, 2] })
        read.list.push(4)
        expect(Option.getOrThrow(yield* store.getState(key))).toEqual({ list: [1, 2] })
      }))

    it.effect("history read back is a copy too", () =>
      Effect.gen(function*() {
        const store = yield* SessionStore.SessionStore
        const key = fresh()
        const message = text("user", "original")
        yield* store.appendHistory(key, [message])
        message.content[0].text = "changed after the append"
        const read = yield* store.history(key)
        expect(read[0].content![0]).toEqual({ type: "text", text: "original" })
        ;(read[0].content![0] as { text: string }).text = "changed after the read"
        expect((yield* store.history(key))[0].content![0]).toEqual({ type: "text", text: "original" })
      }))

    it.effect("history is appended in order, per session", () =>
      Effect.gen(function*() {
        const store = yield* SessionStore.SessionStore
        const key = fresh()
        expect(yield* store.history(key)).toEqual([])
        yield* store.appendHistory(key, [text("user", "hi, I am Ada")])
        yield* store.appendHistory(key, [text("assistant", "hello Ada"), text("user", "bye")])
        yield* store.appendHistory(key, [])
        expect((yield* store.history(key)).map((m) => m.content![0])).toEqual([
          { type: "text", text: "hi, I am Ada" },
          { type: "text", text: "hello Ada" },
          { type: "text", text: "bye" }
        ])
        expect(yield* store.history({ ...key, sessionId: `${key.sessionId}-other` })).toEqual([])
      }))

    it.effect("startTurn gives the history before the turn and appends the turn's input", () =>
      Effect.gen(function*() {
        const store = yield* SessionStore.SessionStore
        const key = fresh()
        expect(yield* store.startTurn(key, [text("user", "first")])).toEqual([])
        yield* store.appendHistory(key, [text("assistant", "reply")])
        const before = yield* store.startTurn(key, [text("user", "second")])
        expect(before.map((m) => (m.content![0] as { text: string }).text)).toEqual(["first", "reply"])
        // an empty input reads without appending
        expect((yield* store.startTurn(key, [])).map((m) => (m.content![0] as { text: string }).text))
          .toEqual(["first", "reply", "second"])
        expect(yield* store.history(key)).toHaveLength(3)
        // the limit holds for the appended input too
        for (let i = 0; i < options.maxHistory; i++) yield* store.startTurn(key, [text("user", `m${i}`)])
        const history = yield* store.history(key)
        expect(history).toHaveLength(options.maxHistory)
        expect((history.at(-1)!.content![0] as { text: string }).text).toBe(`m${options.maxHistory - 1}`)
      }))

    it.effect("history keeps the newest messages up to the limit", () =>
      Effect.gen(function*() {
        const store = yield* SessionStore.SessionStore
        const key = fresh()
        const total = options.maxHistory + 5
        for (let i = 0; i < total; i++) yield* store.appendHistory(key, [text("user", `m${i}`)])
        const history = yield* store.history(key)
        expect(history).toHaveLength(options.maxHistory)
        expect((history[0].content![0] as { text: string }).text).toBe(`m${total - options.maxHistory}`)
        expect((history.at(-1)!.content![0] as { text: string }).text).toBe(`m${total - 1}`)
      }))

    it.effect("clear forgets state and history", () =>
      Effect.gen(function*() {
        const store = yield* SessionStore.SessionStore
        const key = fresh()
        yield* store.setState(key, { a: 1 })
        yield* store.appendHistory(key, [text("user", "x")])
        yield* store.clear(key)
        expect(yield* store.getState(key)).toEqual(Option.none())
        expect(yield* store.history(key)).toEqual([])
      }))
  })
