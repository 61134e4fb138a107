import { AgentApp, Interrupt, SessionStore, TaskQueue } from "@agentapp/core"
import { describe, expect, layer } from "@effect/vitest"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { Deferred, Duration, Effect, Layer, Option } from "effect"
import { HttpServer } from "effect/http"
import { createServer } from "node:http"
import { checkRun } from "../../../test/support/protocol.ts"
import { eventually } from "../../../test/support/eventually.ts"
import { within } from "../../../test/support/server.ts"
import { dataOf, parseFrames, postJson, readStream, userText } from "../../../test/support/sse.ts"
import { makeApp, Progress } from "./fixtures/TestApp.ts"

const serverOn = <A, E, R>(app: Layer.Layer<A, E, R>) =>
  app.pipe(Layer.provideMerge(NodeHttpServer.layer(createServer, { port: 0, host: "127.0.0.1" })))
const baseUrl = HttpServer.addressFormattedWith((url) => Effect.succeed(url))
const promise = <A>(f: (url: string) => Promise<A>) => Effect.flatMap(baseUrl, (url) => Effect.promise(() => f(url)))

const stateOf = (userId: string, sessionId: string) =>
  Effect.map(Interrupt.state({ userId, sessionId }), Option.map((record) => record.state))

/**
 * Starts a stream; `first` resolves with the first event (or the first that
 * `until` accepts), `done` with all frames.
 */
const startStream = (url: string, body: unknown, init?: RequestInit, until: (event: any) => boolean = () => true) => {
  const first = Promise.withResolvers<any>()
  const done = postJson(`${url}/process`, body, init).then((response) => {
    if (response.status !== 200) throw new Error(`status ${response.status}`)
    return readStream(response, (event) => until(event) && first.resolve(event))
  })
  done.catch((error) => first.reject(error))
  return { first: first.promise, done }
}

const stop = (url: string, body: unknown) => postJson(`${url}/stop`, body)

/** No run, lease, listener or tracked stream is left. */
const nothingLeft = (sessions: ReadonlyArray<readonly [string, string]>) =>
  Effect.gen(function*() {
    const backend = yield* Interrupt.InterruptBackend
    expect(yield* backend.listeners).toBe(0)
    for (const [userId, sessionId] of sessions) {
      // the session is free: a new run could take it at once
      const free = { state: "FINISHED" as const, runId: "probe", updatedAt: 0 }
      expect(yield* backend.startRun({ userId, sessionId }, free, Duration.seconds(1), Duration.seconds(1))).toBe(true)
      yield* backend.endRun({ userId, sessionId }, free, Duration.seconds(1))
    }
    const health = yield* promise((url) => fetch(`${url}/health`).then((r) => r.json() as Promise<any>))
    expect(health.active_runs).toBe(0)
  })

layer(serverOn(makeApp().Main), { excludeTestServices: true })("sessions and stop", (it) => {
  it.effect("a completed run ends FINISHED and leaves nothing behind", () =>
    Effect.gen(function*() {
      const text = yield* promise((url) =>
        postJson(`${url}/process`, userText("x", { session_id: "done-1", user_id: "u" })).then((r) => r.text())
      )
      expect(checkRun(dataOf(parseFrames(text))).status).toBe("completed")
      expect(yield* stateOf("u", "done-1")).toEqual(Option.some("FINISHED"))
      yield* nothingLeft([["u", "done-1"]])
    }))

  it.effect("a failing handler ends ERROR", () =>
    Effect.gen(function*() {
      yield* promise((url) =>
        postJson(`${url}/process`, userText("x", { mode: "fail", session_id: "err-1", user_id: "u" })).then((r) =>
          r.text()
        )
      )
      expect(yield* stateOf("u", "err-1")).toEqual(Option.some("ERROR"))
      yield* nothingLeft([["u", "err-1"]])
    }))

  it.effect("a second run in a busy session gets 409 session_busy; another user's session is separate", () =>
    Effect.gen(function*() {
      const url = yield* baseUrl
      const run = startStream(url, userText("x", { mode: "slow", count: 20, session_id: "busy-1", user_id: "u" }))
      yield* Effect.promise(() => run.first)
      expect(yield* stateOf("u", "busy-1")).toEqual(Option.some("RUNNING"))
      const busy = yield* Effect.promise(() =>
        postJson(`${url}/process`, userText("again", { session_id: "busy-1", user_id: "u" }))
      )
      expect(busy.status).toBe(409)
      expect(((yield* Effect.promise(() => busy.json())) as any).error.code).toBe("session_busy")
      const otherUser = yield* Effect.promise(() =>
        postJson(`${url}/process`, userText("x", { session_id: "busy-1", user_id: "someone-else" })).then((r) =>
          r.text()
        )
      )
      expect(checkRun(dataOf(parseFrames(otherUser))).status).toBe("completed")
      expect(checkRun(dataOf(yield* Effect.promise(() => run.done))).status).toBe("completed")
    }))

  it.effect("a stop cancels the run: response canceled, finalizers run, state STOPPED", () =>
    Effect.gen(function*() {
      const url = yield* baseUrl
      const key = { userId: "u-stop", sessionId: "stop-1" }
      const run = startStream(url, userText("x", { mode: "stateful", ...toIds(key) }), undefined, isDelta)
      yield* Effect.promise(() => run.first)
      const reply = yield* Effect.promise(() => stop(url, { session_id: key.sessionId, user_id: key.userId, input: [] }))
      expect(reply.status).toBe(200)
      expect(yield* Effect.promise(() => reply.json())).toEqual({
        status: "success",
        message: "Interrupt signal broadcasted."
      })
      const last = checkRun(dataOf(yield* Effect.promise(() => within(5_000, "the canceled run", run.done))))
      expect(last.status).toBe("canceled")
      expect(yield* stateOf(key.userId, key.sessionId)).toEqual(Option.some("STOPPED"))
      // the handler's finalizer saved the agent's state
      const saved = Option.getOrThrow(yield* SessionStore.load(key, Progress))
      expect(saved.runs).toBe(1)
      expect(saved.words).toBeGreaterThan(0)
      expect(saved.words).toBeLessThan(1000)
      // the session is free again at once, and the saved state carries over
      const next = yield* Effect.promise(() =>
        postJson(`${url}/process`, userText("x", { mode: "stateful", count: 2, ...toIds(key) })).then((r) => r.text())
      )
      expect(checkRun(dataOf(parseFrames(next))).status).toBe("completed")
      const after = Option.getOrThrow(yield* SessionStore.load(key, Progress))
      expect(after).toEqual({ words: saved.words + 2, runs: 2 })
      yield* nothingLeft([[key.userId, key.sessionId]])
    }))

  it.effect("a stop with the session_id the server assigned (read from the first event) works", () =>
    Effect.gen(function*() {
      const url = yield* baseUrl
      const run = startStream(url, userText("x", { mode: "endless" }))
      const first = yield* Effect.promise(() => run.first)
      expect(first.session_id).toMatch(/^[0-9a-f-]{36}$/)
      const reply = yield* Effect.promise(() => stop(url, { session_id: first.session_id }))
      expect(reply.status).toBe(200)
      expect(checkRun(dataOf(yield* Effect.promise(() => run.done))).status).toBe("canceled")
      expect(yield* stateOf(first.session_id, first.session_id)).toEqual(Option.some("STOPPED"))
    }))

  it.effect("stop: 404 when nothing runs, 400 on bad input, and the programmatic stopChat", () =>
    Effect.gen(function*() {
      const url = yield* baseUrl
      const none = yield* Effect.promise(() => stop(url, { session_id: "nobody", user_id: "u" }))
      expect(none.status).toBe(404)
      expect(((yield* Effect.promise(() => none.json())) as any).error.code).toBe("not_found")
      for (const body of ["not json", "{}", JSON.stringify({ session_id: 5 }), "[]", JSON.stringify({ user_id: "u" })]) {
        const bad = yield* Effect.promise(() => stop(url, body))
        expect(bad.status, body).toBe(400)
        expect(((yield* Effect.promise(() => bad.json())) as any).error.code).toBe("invalid_request")
      }
      const missing = yield* AgentApp.stopChat("u", "nobody").pipe(Effect.flip)
      expect(missing._tag).toBe("NoActiveRun")

      const run = startStream(url, userText("x", { mode: "endless", session_id: "prog-1", user_id: "u" }))
      yield* Effect.promise(() => run.first)
      yield* AgentApp.stopChat("u", "prog-1")
      expect(checkRun(dataOf(yield* Effect.promise(() => run.done))).status).toBe("canceled")
    }))

  it.effect("stream:false runs take the session too, and a stop cancels them", () =>
    Effect.gen(function*() {
      const url = yield* baseUrl
      const pending = Effect.runPromise(Effect.promise(() =>
        postJson(`${url}/process`, userText("x", { mode: "endless", stream: false, session_id: "json-1", user_id: "u" }))
          .then((r) => r.json() as Promise<any>)
      ))
      // wait until the run holds the session
      const backend = yield* Interrupt.InterruptBackend
      const state = backend.getState({ userId: "u", sessionId: "json-1" })
      yield* eventually(Effect.map(state, (record) => Option.getOrUndefined(record)?.state === "RUNNING"), 5_000)
      yield* AgentApp.stopChat("u", "json-1")
      const body = yield* Effect.promise(() => pending)
      expect(body).toMatchObject({ object: "response", status: "canceled" })
      expect(yield* stateOf("u", "json-1")).toEqual(Option.some("STOPPED"))
    }))

  it.effect("a client that disconnects mid-stream: its finalizer runs, the state is STOPPED and the session is free", () =>
    Effect.gen(function*() {
      const url = yield* baseUrl
      const key = { userId: "u-gone", sessionId: "gone-1" }
      const controller = new AbortController()
      const run = startStream(
        url,
        userText("x", { mode: "stateful", ...toIds(key) }),
        { signal: controller.signal },
        isDelta
      )
      yield* Effect.promise(() => run.first)
      const aborted = Date.now()
      controller.abort()
      yield* Effect.promise(() => run.done.catch(() => undefined))
      // the finalizer saves the state: wait for it, with a deadline
      yield* eventually(Effect.map(SessionStore.load(key, Progress), Option.isSome), 2_000)
      yield* eventually(
        Effect.map(stateOf(key.userId, key.sessionId), (state) => Option.getOrUndefined(state) === "STOPPED"),
        2_000
      )
      const settledWithin = Date.now() - aborted
      expect(settledWithin).toBeLessThan(2_000)
      const again = yield* Effect.promise(() =>
        postJson(`${url}/process`, userText("x", { ...toIds(key) })).then((r) => r.text())
      )
      expect(checkRun(dataOf(parseFrames(again))).status).toBe("completed")
      yield* nothingLeft([[key.userId, key.sessionId]])
    }))

  it.effect("100 sessions stream at once and 50 are stopped: exactly those 50 are canceled", () =>
    Effect.gen(function*() {
      const url = yield* baseUrl
      const sessions = Array.from({ length: 100 }, (_, i) => ({ user_id: "crowd", session_id: `crowd-${i}` }))
      const runs = sessions.map((ids) => startStream(url, userText("x", { mode: "slow", count: 40, interval_ms: 25, ...ids })))
      yield* Effect.promise(() => Promise.all(runs.map((run) => run.first)))
      const stopped = sessions.filter((_, i) => i % 2 === 0)
      const replies = yield* Effect.promise(() => Promise.all(stopped.map((ids) => stop(url, ids).then((r) => r.status))))
      expect(replies.every((status) => status === 200)).toBe(true)
      const results = yield* Effect.promise(() => Promise.all(runs.map((run) => run.done)))
      const statuses = results.map((frames) => checkRun(dataOf(frames)).status)
      expect(statuses.filter((_, i) => i % 2 === 0).every((status) => status === "canceled")).toBe(true)
      expect(statuses.filter((_, i) => i % 2 === 1).every((status) => status === "completed")).toBe(true)
      for (const [i, ids] of sessions.entries()) {
        expect(yield* stateOf(ids.user_id, ids.session_id)).toEqual(Option.some(i % 2 === 0 ? "STOPPED" : "FINISHED"))
      }
      yield* nothingLeft(sessions.map((ids) => [ids.user_id, ids.session_id] as const))
    }))

  it.effect("multi-turn: the second turn sees the first turn's messages", () =>
    Effect.gen(function*() {
      const url = yield* baseUrl
      const ids = { session_id: "chat-1", user_id: "u" }
      const turn1 = yield* Effect.promise(() => postJson(`${url}/process`, userText("I am Ada", ids)).then((r) => r.text()))
      expect(checkRun(dataOf(parseFrames(turn1))).status).toBe("completed")
      const turn2 = yield* Effect.promise(() =>
        postJson(`${url}/process`, userText("who am I?", { ...ids, mode: "history" })).then((r) => r.text())
      )
      const seen = JSON.parse(checkRun(dataOf(parseFrames(turn2))).output[0].content[0].text)
      expect(seen).toEqual([{ role: "user", text: "I am Ada" }, { role: "assistant", text: "Hello World!" }])
      const history = yield* SessionStore.SessionStore.use((store) => store.history({ userId: "u", sessionId: "chat-1" }))
      expect(history).toHaveLength(4)
      expect(history[3].content).toEqual([{ type: "text", text: JSON.stringify(seen) }])
    }))
})

const isDelta = (event: any) => event.object === "content" && event.delta === true

const toIds = (key: Interrupt.SessionKey) => ({ session_id: key.sessionId, user_id: key.userId })

describe("exactly one signal per stop", () => {
  let signals = 0
  const listened: Array<Deferred.Deferred<void>> = []
  const Counting = Layer.effect(
    Interrupt.InterruptBackend,
    Effect.gen(function*() {
      const memory = yield* Interrupt.makeMemory()
      return Interrupt.InterruptBackend.of({
        ...memory,
        signalStop: (key) => Effect.tap(memory.signalStop(key), (sent) => Effect.sync(() => sent.received && signals++)),
        listen: (key) => Effect.tap(memory.listen(key), (stopped) => Effect.sync(() => listened.push(stopped)))
      })
    })
  )
  const backends = Layer.mergeAll(Counting, SessionStore.layerMemory(), TaskQueue.layerMemory())
  layer(serverOn(makeApp({ backends }).Main), { excludeTestServices: true })("a counting backend", (it) => {
    it.effect("one POST /stop sends one signal, which wakes the run once", () =>
      Effect.gen(function*() {
        const url = yield* baseUrl
        const run = startStream(url, userText("x", { mode: "endless", session_id: "one", user_id: "u" }))
        yield* Effect.promise(() => run.first)
        expect((yield* Effect.promise(() => stop(url, { session_id: "one", user_id: "u" }))).status).toBe(200)
        expect(checkRun(dataOf(yield* Effect.promise(() => run.done))).status).toBe("canceled")
        expect(signals).toBe(1)
        // the run listened once, and that listener was woken
        expect(listened).toHaveLength(1)
        expect(Deferred.isDoneUnsafe(listened[0])).toBe(true)
      }))
  })
})

describe("onBusy: interrupt", () => {
  const App = makeApp({ sessions: { onBusy: "interrupt" } })
  layer(serverOn(App.Main), { excludeTestServices: true })("a takeover app", (it) => {
    it.effect("a new run in a busy session stops the running one and starts", () =>
      Effect.gen(function*() {
        const url = yield* baseUrl
        const ids = { session_id: "take-1", user_id: "u" }
        const old = startStream(url, userText("x", { mode: "endless", ...ids }))
        yield* Effect.promise(() => old.first)
        const next = yield* Effect.promise(() => postJson(`${url}/process`, userText("x", ids)).then((r) => r.text()))
        expect(checkRun(dataOf(parseFrames(next))).status).toBe("completed")
        expect(checkRun(dataOf(yield* Effect.promise(() => old.done))).status).toBe("canceled")
      }))
  })
})

describe("stopPath: false", () => {
  layer(serverOn(makeApp({ stopPath: false }).Main), { excludeTestServices: true })("an app without /stop", (it) => {
    it.effect("does not mount or list it", () =>
      Effect.gen(function*() {
        const url = yield* baseUrl
        expect((yield* Effect.promise(() => stop(url, { session_id: "x" }))).status).toBe(404)
        const root: any = yield* Effect.promise(() => fetch(`${url}/`).then((r) => r.json()))
        expect(root.endpoints.stop).toBeUndefined()
      }))
  })
})
