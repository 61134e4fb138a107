/**
 * The conformance suite of `RunLog`: what every run log (memory, Redis, a
 * custom one) must do. It uses only the service interface; the log under
 * test keeps at most `maxEvents` frames per run and `retention` after the end.
 */
import { Output, type Protocol, Runner, RunLog, Sse } from "@agentapp/core"
import { expect, layer } from "@effect/vitest"
import { Duration, Effect, Exit, Fiber, type Layer, Option, Stream } from "effect"

const info = (): RunLog.RunInfo => ({
  responseId: `response_${crypto.randomUUID()}`,
  sessionId: `s-${crypto.randomUUID()}`,
  userId: `u-${crypto.randomUUID()}`,
  runId: crypto.randomUUID()
})

/** A real run's events: what the Runner makes of `words` text deltas. */
const runEvents = (run: RunLog.RunInfo, words: number, word = (i: number) => `w${i} `) =>
  Effect.map(
    Stream.runCollect(Runner.events(
      { request: { input: [] }, responseId: run.responseId, sessionId: run.sessionId, userId: run.userId },
      Stream.fromIterable(Array.from({ length: words }, (_, i) => Output.text(word(i))))
    )),
    (events) => events as Array<Protocol.Event>
  )

const framesOf = (events: ReadonlyArray<Protocol.Event>) => events.map(Sse.eventFrame).join("")
const followAll = (id: string, after: number) =>
  Effect.flatMap(RunLog.RunLog.use((log) => log.follow(id, after)), (stream) =>
    Effect.map(Stream.runCollect(stream), (chunks) => chunks.join("")))

export const runLogSuite = <E>(
  name: string,
  log: Layer.Layer<RunLog.RunLog, E>,
  options: { readonly maxEvents: number; readonly retention: Duration.Duration }
) =>
  layer(log, { excludeTestServices: true })(`RunLog conformance: ${name}`, (it) => {
    it.effect("a run's frames are the SSE frames of its events, in order; read says whether it ended", () =>
      Effect.gen(function*() {
        const run = info()
        const events = yield* runEvents(run, 5)
        const writer = yield* RunLog.RunLog.use((log) => log.open(run))
        writer.append(events.slice(0, 3))
        const during = yield* Effect.eventually(Effect.filterOrFail(
          RunLog.RunLog.use((log) => log.read(run.responseId)),
          (snapshot) => snapshot.frames.length === 3
        ))
        expect(during.ended).toBe(false)
        expect(during.info).toEqual(run)
        expect(during.frames.join("")).toBe(framesOf(events.slice(0, 3)))
        expect(RunLog.responseSoFar(during).status).toBe("in_progress")
        writer.append(events.slice(3))
        const after = yield* Effect.eventually(Effect.filterOrFail(
          RunLog.RunLog.use((log) => log.read(run.responseId)),
          (snapshot) => snapshot.ended
        ))
        expect(after.frames.join("")).toBe(framesOf(events))
        const response = RunLog.responseSoFar(after)
        expect(response.status).toBe("completed")
        expect(response).toEqual(events[events.length - 1])
        // the log takes nothing after the terminal event
        writer.append(events.slice(0, 1))
        expect((yield* RunLog.RunLog.use((log) => log.read(run.responseId))).frames.length).toBe(events.length)
      }))

    it.effect("a large chunk (a long reply at once) with text beyond ASCII reads back byte for byte, from any cursor", () =>
      Effect.gen(function*() {
        const run = info()
        const events = yield* runEvents(run, 300, (i) => `mot${i} é🙂 `)
        const writer = yield* RunLog.RunLog.use((log) => log.open(run))
        writer.append(events)
        yield* Effect.eventually(Effect.filterOrFail(RunLog.RunLog.use((log) => log.read(run.responseId)), (s) => s.ended))
        expect(yield* followAll(run.responseId, -1)).toBe(framesOf(events))
        expect(yield* followAll(run.responseId, 150)).toBe(framesOf(events.slice(151)))
        expect((yield* RunLog.RunLog.use((log) => log.read(run.responseId))).frames).toEqual(events.map(Sse.eventFrame))
      }))

    it.effect("followers get the frames after their cursor, then live ones, and end with the terminal event", () =>
      Effect.gen(function*() {
        const run = info()
        const events = yield* runEvents(run, 8)
        const writer = yield* RunLog.RunLog.use((log) => log.open(run))
        writer.append(events.slice(0, 4))
        const followers = yield* Effect.forEach(
          Array.from({ length: 100 }, (_, i) => i % 2 === 0 ? -1 : 2),
          (after) => Effect.forkChild(followAll(run.responseId, after))
        )
        // the rest comes while the followers replay and listen: each meets the seam somewhere
        for (let i = 4; i < events.length; i++) {
          writer.append([events[i]])
          yield* Effect.sleep(Duration.millis(2))
        }
        const texts = yield* Fiber.joinAll(followers)
        texts.forEach((text, i) => expect(text).toBe(framesOf(events.slice(i % 2 === 0 ? 0 : 3))))
      }))

    it.effect("a run that has ended is replayed from any cursor, and the stream ends", () =>
      Effect.gen(function*() {
        const run = info()
        const events = yield* runEvents(run, 3)
        const writer = yield* RunLog.RunLog.use((log) => log.open(run))
        writer.append(events)
        yield* Effect.eventually(Effect.filterOrFail(RunLog.RunLog.use((log) => log.read(run.responseId)), (s) => s.ended))
        expect(yield* followAll(run.responseId, -1)).toBe(framesOf(events))
        expect(yield* followAll(run.responseId, 4)).toBe(framesOf(events.slice(5)))
        expect(yield* followAll(run.responseId, events.length + 10)).toBe("")
      }))

    it.effect("an unknown id is RunNotFound, for read and follow", () =>
      Effect.gen(function*() {
        const read = yield* Effect.exit(RunLog.RunLog.use((log) => log.read("response_nope")))
        const follow = yield* Effect.exit(RunLog.RunLog.use((log) => log.follow("response_nope", -1)))
        expect(Exit.isFailure(read) && read.cause.toString()).toContain("RunNotFound")
        expect(Exit.isFailure(follow) && follow.cause.toString()).toContain("RunNotFound")
      }))

    it.effect("a run's log is gone once its retention has passed after its end", () =>
      Effect.gen(function*() {
        const run = info()
        const events = yield* runEvents(run, 2)
        const writer = yield* RunLog.RunLog.use((log) => log.open(run))
        writer.append(events)
        yield* Effect.eventually(Effect.filterOrFail(RunLog.RunLog.use((log) => log.read(run.responseId)), (s) => s.ended))
        // succeeds with the error once the log is gone; until then, looks again every 20 ms
        const gone = RunLog.RunLog.use((log) => log.read(run.responseId)).pipe(
          Effect.flip,
          Effect.tapError(() => Effect.sleep(Duration.millis(20))),
          Effect.map((error) => error._tag)
        )
        const waited = yield* Effect.timed(Effect.eventually(gone))
        expect(waited[1]).toBe("RunNotFound")
        expect(Duration.toMillis(waited[0])).toBeLessThan(Duration.toMillis(options.retention) + 5_000)
      }), { timeout: 15_000 })

    it.effect("a run keeps at most maxEvents frames, the newest; a follower from the start begins at the oldest kept", () =>
      Effect.gen(function*() {
        const run = info()
        const events = yield* runEvents(run, options.maxEvents * 3)
        const writer = yield* RunLog.RunLog.use((log) => log.open(run))
        for (const event of events) writer.append([event])
        const snapshot = yield* Effect.eventually(Effect.filterOrFail(RunLog.RunLog.use((log) => log.read(run.responseId)), (s) => s.ended))
        expect(snapshot.frames.length).toBeLessThanOrEqual(options.maxEvents + 100)
        expect(snapshot.frames.length).toBeLessThan(events.length)
        expect(snapshot.frames.join("")).toBe(framesOf(events.slice(events.length - snapshot.frames.length)))
        expect(yield* followAll(run.responseId, -1)).toBe(snapshot.frames.join(""))
      }))

    it.effect("latest gives the session's newest run", () =>
      Effect.gen(function*() {
        const first = info()
        const second = { ...info(), sessionId: first.sessionId, userId: first.userId }
        expect(yield* RunLog.RunLog.use((log) => log.latest(first))).toEqual(Option.none())
        yield* RunLog.RunLog.use((log) => log.open(first))
        expect(yield* RunLog.RunLog.use((log) => log.latest(first))).toEqual(Option.some(first.responseId))
        yield* RunLog.RunLog.use((log) => log.open(second))
        expect(yield* RunLog.RunLog.use((log) => log.latest(first))).toEqual(Option.some(second.responseId))
        expect(yield* RunLog.RunLog.use((log) => log.latest({ ...first, userId: "someone-else" }))).toEqual(Option.none())
      }))
  })
