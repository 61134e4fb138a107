/**
 * The conformance suite of `SessionStore`: what every store (memory, Redis,
 * a custom one) must do. It uses only the service interface.
 */
import { type Interrupt, type Protocol, SessionStore } from "@agentapp/core"
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

    it.effect("history read back cannot change the store (a copy, or frozen)", () =>
      Effect.gen(function*() {
        const store = yield* SessionStore.SessionStore
        const key = fresh()
        const message = text("user", "original")
        yield* store.appendHistory(key, [message])
        message.content[0].text = "changed after the append"
        const read = yield* store.history(key)
        expect(read[0].content![0]).toEqual({ type: "text", text: "original" })
        try {
          ;(read[0].content![0] as { text: string }).text = "changed after the read"
        } catch {
          // a frozen message (the memory store) refuses the change
        }
        expect((yield* store.history(key))[0].content![0]).toEqual({ type: "text", text: "original" })
      }))

    it.effect("history keeps what JSON keeps of a message (the same in every store)", () =>
      Effect.gen(function*() {
        const store = yield* SessionStore.SessionStore
        const key = fresh()
        const data = { at: new Date(0), gone: undefined, ratio: Number.NaN, list: [1, undefined, () => 1], nested: { ok: true } }
        yield* store.appendHistory(key, [{ role: "tool", type: "plugin_call_output", content: [{ type: "data", data }] }])
        expect((yield* store.history(key))[0].content![0]).toEqual({
          type: "data",
          data: { at: "1970-01-01T00:00:00.000Z", ratio: null, list: [1, null, null], nested: { ok: true } }
        })
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

    it.effect("a turn started again (a retried task) appends its input once, and its reply once", () =>
      Effect.gen(function*() {
        const store = yield* SessionStore.SessionStore
        const key = fresh()
        const texts = (messages: ReadonlyArray<Protocol.Message>) =>
          messages.map((m) => (m.content![0] as { text: string }).text)
        yield* store.startTurn(key, [text("user", "one")], "turn-1")
        yield* store.appendHistory(key, [text("assistant", "reply one")], "turn-1")
        expect(texts(yield* store.startTurn(key, [text("user", "two")], "turn-2"))).toEqual(["one", "reply one"])
        // the worker died: the retry reads the same history and appends nothing
        expect(texts(yield* store.startTurn(key, [text("user", "two")], "turn-2"))).toEqual(["one", "reply one"])
        yield* store.appendHistory(key, [text("assistant", "reply two")], "turn-2")
        // it died after the reply was appended: the retry's reply is left out too
        expect(texts(yield* store.startTurn(key, [text("user", "two")], "turn-2"))).toEqual(["one", "reply one"])
        yield* store.appendHistory(key, [text("assistant", "reply two")], "turn-2")
        expect(texts(yield* store.history(key))).toEqual(["one", "reply one", "two", "reply two"])
        // at the limit, the history before the retried turn is still what it was before its input
        const full = fresh()
        for (let i = 0; i < options.maxHistory; i++) yield* store.appendHistory(full, [text("user", `m${i}`)])
        const before = texts(yield* store.startTurn(full, [text("user", "last")], "turn-x"))
        yield* store.appendHistory(full, [text("assistant", "r")], "turn-x")
        const again = texts(yield* store.startTurn(full, [text("user", "last")], "turn-x"))
        expect(again).toEqual(before.slice(2))
        expect(texts(yield* store.history(full)).slice(-2)).toEqual(["last", "r"])
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
