import { describe, expect, it } from "@effect/vitest"
import { Deferred, Effect, Fiber, Stream } from "effect"
import { open } from "../src/internal/run/eventsPull.ts"
import { type RunContext, TextDeltaEvent } from "../src/internal/run/runState.ts"
import { AgentApp, Runner, Sse } from "../src/index.ts"

/** The pull of a run opened in the current scope. */
const pullOf = <E>(context: RunContext, outputs: Stream.Stream<AgentApp.AgentOutput, E>) =>
  Effect.map(open(context, outputs), (run) => run.pull)

const context = { request: { input: [] } as any, responseId: "response_1", sessionId: "s", userId: "u" }

/** A handler that says "a" at once, then waits for `gate` before `next` (an output, or a failure). */
const gated = <E>(gate: Deferred.Deferred<void>, next: Effect.Effect<AgentApp.AgentOutput, E>) =>
  Stream.concat(Stream.make(AgentApp.text("a")), Stream.fromEffect(Effect.andThen(Deferred.await(gate), next)))

describe("Sse.eventFrame", () => {
  it.effect("frames the Runner's text deltas byte for byte as JSON.stringify does", () =>
    Effect.gen(function*() {
      const texts = ["Hello", " \"quoted\"", " back\\slash", " new\nline", " ünïcødé 🎉", " \u0000\u001f", ""]
      const events = yield* Stream.runCollect(
        Runner.events(context, Stream.fromIterable(texts.map((text) => AgentApp.text(text))))
      )
      const deltas = events.filter((event) => event instanceof TextDeltaEvent)
      expect(deltas).toHaveLength(texts.length)
      for (const event of events) {
        expect(Sse.eventFrame(event)).toBe(`id: ${event.sequence_number}\ndata: ${JSON.stringify(event)}\n\n`)
        expect(JSON.parse(Sse.eventFrame(event).split("data: ")[1])).toEqual(JSON.parse(JSON.stringify(event)))
      }
      // a delta is a plain protocol event to every other reader
      expect(JSON.parse(JSON.stringify(deltas[1]))).toEqual({
        sequence_number: deltas[1].sequence_number,
        object: "content",
        status: "in_progress",
        error: null,
        type: "text",
        index: 0,
        delta: true,
        msg_id: deltas[1].msg_id,
        text: " \"quoted\""
      })
    }))
})

describe("Sse responses", () => {
  it("carry the SSE headers", () => {
    const streamed = Sse.response(Stream.make(new Uint8Array([1])))
    const whole = (text: string) => Sse.whole([text], (item) => `data: ${item}\n\n`)
    expect(streamed.headers).toEqual({ "content-type": "text/event-stream", ...Sse.headers })
    expect(whole("one").headers).toEqual({ "content-type": "text/event-stream", "content-length": "11", ...Sse.headers })
    expect(whole("three").headers["content-length"]).toBe("13")
  })
})

describe("Runner: a long streamed text", () => {
  it.effect("is kept exactly, every character, across many deltas (the Runner flattens it as it grows)", () =>
    Effect.gen(function*() {
      // 1,000 deltas, some of them astral, accented, or a lone surrogate: far more than one flattening
      const pieces = ["plain ", "é", "🙂", "\ud800", " x", "", "\n", "漢字"]
      const texts = Array.from({ length: 1_000 }, (_, i) => `${pieces[i % pieces.length]}${i}`)
      const reasoning = Array.from({ length: 130 }, (_, i) => `r${i} `)
      const events = yield* Stream.runCollect(Runner.events(
        context,
        Stream.fromIterable([...reasoning.map(AgentApp.reasoning), ...texts.map(AgentApp.text)])
      ))
      const parts = events.filter((event) => event.object === "content" && event.delta === false) as Array<any>
      expect(parts.map((part) => part.text)).toEqual([reasoning.join(""), texts.join("")])
      const last = events[events.length - 1] as any
      expect(last.output.map((message: any) => message.content[0].text)).toEqual([reasoning.join(""), texts.join("")])
      // the deltas themselves are untouched
      const deltas = events.filter((event) => event instanceof TextDeltaEvent)
      expect(deltas.map((delta) => delta.text)).toEqual([...reasoning, ...texts])
    }))
})

describe("the run's pull", () => {
  it.effect("a handler that never waits gives its whole run as the first chunk", () =>
    Effect.scoped(Effect.gen(function*() {
      const pull = yield* pullOf(context, Stream.make(AgentApp.text("a"), AgentApp.text("b")))
      const first = yield* pull
      expect(Runner.isComplete(first)).toBe(true)
      expect(first.map((event) => event.sequence_number)).toEqual(first.map((_, i) => i))
      expect(first.at(-1)).toMatchObject({ object: "response", status: "completed" })
      // the pull is over after the terminal event
      expect((yield* Effect.exit(pull))._tag).toBe("Failure")
    })))

  it.effect("a handler that waits gives the opening events first, the rest as it comes", () =>
    Effect.scoped(Effect.gen(function*() {
      const gate = yield* Deferred.make<void>()
      const pull = yield* pullOf(context, gated(gate, Effect.succeed(AgentApp.text("b"))))
      const first = yield* pull
      expect(Runner.isComplete(first)).toBe(false)
      // the opening events, and what was ready with them
      expect(first.map((event) => [event.object, event.status])).toEqual([
        ["response", "created"],
        ["response", "in_progress"],
        ["message", "in_progress"],
        ["content", "in_progress"]
      ])
      yield* Deferred.succeed(gate, undefined)
      const rest = yield* pull
      expect(Runner.isComplete(rest)).toBe(true)
      expect(Runner.isComplete([...first, ...rest.slice(0, -1)])).toBe(false)
      expect([...first, ...rest].map((event) => event.sequence_number)).toEqual([...first, ...rest].map((_, i) => i))
    })))
})

describe("the run's drain", () => {
  it.effect("writes the rest of a run chunk by chunk, in order, the terminal event last", () =>
    Effect.scoped(Effect.gen(function*() {
      const gate = yield* Deferred.make<void>()
      const outputs = Stream.concat(
        gated(gate, Effect.succeed(AgentApp.text("b"))),
        Stream.make(AgentApp.text("c"), AgentApp.text("d"))
      )
      const opened = yield* open(context, outputs)
      const first = yield* opened.pull
      expect(Runner.isComplete(first)).toBe(false)
      const written: Array<ReadonlyArray<any>> = []
      const draining = yield* Effect.forkChild(opened.drain((events) => Effect.sync(() => void written.push(events))))
      yield* Effect.yieldNow
      expect(draining.pollUnsafe()).toBeUndefined()
      yield* Deferred.succeed(gate, undefined)
      yield* Fiber.join(draining)
      const all = [...first, ...written.flat()]
      expect(all.map((event) => event.sequence_number)).toEqual(all.map((_, i) => i))
      expect(Runner.isComplete(written.at(-1)!)).toBe(true)
      expect(all.at(-1)).toMatchObject({ object: "response", status: "completed" })
      expect(all.at(-1).output[0].content[0].text).toBe("abcd")
      // the run is over: another drain writes nothing
      yield* opened.drain(() => Effect.die("written after the end"))
    })))

  it.effect("a cancel while it waits interrupts the handler and writes response canceled", () =>
    Effect.gen(function*() {
      const cancel = yield* Deferred.make<void>()
      const finalized: Array<string> = []
      // the pull in flight is interrupted at once; the stream's finalizers run by the time the run's scope closes
      const outputs = Stream.concat(
        Stream.make(AgentApp.text("a")),
        Stream.fromEffect(Effect.onInterrupt(Effect.never, () => Effect.sync(() => void finalized.push("pull"))))
      ).pipe(Stream.ensuring(Effect.sync(() => void finalized.push("stream"))))
      const written: Array<any> = []
      yield* Effect.scoped(Effect.gen(function*() {
        const opened = yield* open(context, outputs, { cancel })
        yield* opened.pull
        const draining = yield* Effect.forkChild(opened.drain((events) => Effect.sync(() => void written.push(...events))))
        yield* Effect.yieldNow
        expect(cancel.resumes?.length).toBe(1)
        yield* Deferred.succeed(cancel, undefined)
        yield* Fiber.join(draining)
        expect(written.at(-1)).toMatchObject({ object: "response", status: "canceled" })
        // the handler's pull was interrupted, and its finalizer had run, before the terminal event
        expect(finalized[0]).toBe("pull")
      }))
      expect(finalized).toEqual(["pull", "stream"])
      // the run let go of the signal
      expect(cancel.resumes ?? []).toHaveLength(0)
    }))

  it.effect("a handler failure while draining ends in response failed", () =>
    Effect.scoped(Effect.gen(function*() {
      const gate = yield* Deferred.make<void>()
      const opened = yield* open(context, gated(gate, Effect.fail("the model is unreachable")))
      yield* opened.pull
      const written: Array<any> = []
      const draining = yield* Effect.forkChild(opened.drain((events) => Effect.sync(() => void written.push(...events))))
      yield* Deferred.succeed(gate, undefined)
      yield* Fiber.join(draining)
      expect(written.at(-1)).toMatchObject({ object: "response", status: "failed" })
    })))
})

describe("Runner cancel", () => {
  const waiting = (finalized: Array<string>) =>
    Stream.concat(Stream.make(AgentApp.text("a")), Stream.never).pipe(
      Stream.ensuring(Effect.sync(() => finalized.push("handler")))
    )

  it.effect("a waiting run ends with response canceled when cancel completes, and lets go of the signal", () =>
    Effect.gen(function*() {
      const cancel = yield* Deferred.make<void>()
      const finalized: Array<string> = []
      const collected = yield* Effect.forkChild(Stream.runCollect(Runner.events(context, waiting(finalized), { cancel })))
      // the run waits on the handler, listening for the signal
      yield* Effect.yieldNow
      expect(collected.pollUnsafe()).toBeUndefined()
      expect(cancel.resumes?.length).toBe(1)
      yield* Deferred.succeed(cancel, undefined)
      const events = yield* Fiber.join(collected)
      expect(events.at(-1)).toMatchObject({ object: "response", status: "canceled" })
      expect(finalized).toEqual(["handler"])
    }))

  it.live("runs that share one cancel signal leave no listener behind when they end", () =>
    Effect.gen(function*() {
      const cancel = yield* Deferred.make<void>()
      for (let i = 0; i < 20; i++) {
        const outputs = Stream.fromEffect(Effect.as(Effect.sleep("1 millis"), AgentApp.text("b")))
        const events = yield* Stream.runCollect(Runner.events(context, outputs, { cancel }))
        expect(events.at(-1)).toMatchObject({ object: "response", status: "completed" })
      }
      expect(cancel.resumes ?? []).toHaveLength(0)
      // a signal that was given before the run waits cancels it at once
      yield* Deferred.succeed(cancel, undefined)
      const finalized: Array<string> = []
      const events = yield* Stream.runCollect(Runner.events(context, waiting(finalized), { cancel }))
      expect(events.at(-1)).toMatchObject({ object: "response", status: "canceled" })
    }))
})
