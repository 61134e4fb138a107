/**
 * The task routes (PROTOCOL.md §8), over HTTP, against a server whose
 * TaskQueue is the layer under test: every reply shape, errors, timeouts,
 * retries, retention and /process/task.
 */
import { expect, layer } from "@effect/vitest"
import { Duration, Effect, type Layer } from "effect"
import { HttpServer } from "effect/http"
import { checkRun } from "../../../../test/support/protocol.ts"
import { postJson, readStream, userText } from "../../../../test/support/sse.ts"
import { Counter } from "../../../../test/fixtures/TaskApp.ts"

const baseUrl = HttpServer.addressFormattedWith((url) => Effect.succeed(url))
const call = <A>(f: (url: string) => Promise<A>) => Effect.flatMap(baseUrl, (url) => Effect.promise(() => f(url)))

const submit = (path: string, body: unknown) =>
  call(async (url) => {
    const response = await postJson(`${url}${path}`, body)
    return { status: response.status, body: (await response.json()) as any }
  })

const get = (path: string) =>
  call(async (url) => {
    const response = await fetch(`${url}${path}`)
    return { status: response.status, body: (await response.json()) as any }
  })

/** Polls the task until `done` accepts its status, with a deadline. */
const until = (path: string, done: (body: any) => boolean, ms = 10_000) =>
  Effect.gen(function*() {
    const deadline = Date.now() + ms
    while (true) {
      const reply = yield* get(path)
      if (reply.status === 200 && done(reply.body)) return reply.body
      if (Date.now() > deadline) {
        return yield* Effect.die(new Error(`${path}: not done within ${ms} ms, last ${JSON.stringify(reply)}`))
      }
      yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 20)))
    }
  })

const ended = (body: any) => body.status === "finished" || body.status === "error"

export const taskSuite = <E>(name: string, server: Layer.Layer<HttpServer.HttpServer | Counter, E>) =>
  layer(server, { excludeTestServices: true, timeout: Duration.seconds(60) })(`tasks over HTTP: ${name}`, (it) => {
    it.effect("POST answers submitted at once; GET answers pending/running, then finished with the result", () =>
      Effect.gen(function*() {
        const submitted = yield* submit("/square", { x: 7 })
        expect(submitted.status).toBe(200)
        expect(submitted.body).toMatchObject({ status: "submitted", queue: "default" })
        expect(typeof submitted.body.task_id).toBe("string")
        expect(submitted.body.message).toContain(submitted.body.task_id)
        const first = yield* get(`/square/${submitted.body.task_id}`)
        expect(["pending", "running", "finished"]).toContain(first.body.status)
        const done = yield* until(`/square/${submitted.body.task_id}`, ended)
        expect(done).toMatchObject({ status: "finished", result: { square: 49 }, attempts: 1 })
        expect(typeof done.started_at).toBe("number")
        expect(done.started_at).toBeLessThanOrEqual(Math.ceil(Date.now() / 1000))
      }))

    it.effect("a running task says running, with started_at", () =>
      Effect.gen(function*() {
        const key = crypto.randomUUID()
        const { body } = yield* submit("/sleepy", { key, ms: 800 })
        expect(body.queue).toBe("sleepy")
        const running = yield* until(`/sleepy/${body.task_id}`, (status) => status.status === "running")
        expect(typeof running.started_at).toBe("number")
        expect(running.result).toBeNull()
        const done = yield* until(`/sleepy/${body.task_id}`, ended)
        expect(done).toMatchObject({ status: "finished", result: { key } })
      }))

    it.effect("an unknown id is a 404 with the original's message", () =>
      Effect.gen(function*() {
        const reply = yield* get("/square/no-such-task")
        expect(reply.status).toBe(404)
        expect(reply.body).toEqual({ error: "Task no-such-task not found" })
      }))

    it.effect("task ids are random UUIDs, and a task route answers only its own tasks (ids were sequential)", () =>
      Effect.gen(function*() {
        const ids: Array<string> = []
        for (let i = 0; i < 3; i++) ids.push((yield* submit("/square", { x: i })).body.task_id)
        for (const id of ids) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
        yield* until(`/square/${ids[0]}`, ended)
        // the same id through another task's route, and through /process/task, is not found
        const elsewhere = yield* get(`/short/${ids[0]}`)
        expect(elsewhere.status).toBe(404)
        expect((yield* get(`/process/task/${ids[0]}`)).status).toBe(404)
        const processed = yield* submit("/process/task", userText("hello"))
        expect((yield* get(`/square/${processed.body.task_id}`)).status).toBe(404)
      }))

    it.effect("a task id of 300 characters, or one that is not valid percent-encoding, gets a JSON 4xx", () =>
      Effect.gen(function*() {
        const long = yield* get(`/square/${"a".repeat(300)}`)
        expect(long.status).toBe(404)
        expect(long.body.error).toMatch(/^Task a+… not found$/)
        const bad = yield* get("/square/%ZZ")
        expect(bad.status).toBe(400)
        expect(bad.body.error.code).toBe("invalid_request")
      }))

    it.effect("/process/task refuses a body nested 4,500 levels with 400, not 503 (the store overflowed)", () =>
      Effect.gen(function*() {
        const body = `{"input":[{"role":"user","metadata":${"{\"a\":".repeat(4500)}1${"}".repeat(4500)},"content":[]}]}`
        const reply = yield* submit("/process/task", body)
        expect(reply.status).toBe(400)
        expect(reply.body.error.code).toBe("invalid_request")
      }))

    it.effect("an invalid payload is a 400 and nothing is enqueued", () =>
      Effect.gen(function*() {
        const key = crypto.randomUUID()
        for (const body of [{ key, ms: "soon" }, { ms: 5 }, "not json", [1, 2]]) {
          const reply = yield* submit("/sleepy", body)
          expect(reply.status, JSON.stringify(body)).toBe(400)
          expect(reply.body.error.code).toBe("invalid_request")
        }
        // a valid one behind them runs, and the invalid ones never ran
        const { body } = yield* submit("/sleepy", { key, ms: 1 })
        yield* until(`/sleepy/${body.task_id}`, ended)
        expect(yield* Counter.use((counter) => counter.get(`sleepy:${key}`))).toBe(1)
      }))

    it.effect("a task that fails ends in error with its message; one that dies with a generic one (it leaked)", () =>
      Effect.gen(function*() {
        const failed = yield* submit("/fail_task", {})
        expect(yield* until(`/fail_task/${failed.body.task_id}`, ended)).toMatchObject({
          status: "error",
          error: "the task broke",
          result: null
        })
        const thrown = yield* submit("/throw_task", {})
        const error = yield* until(`/throw_task/${thrown.body.task_id}`, ended)
        expect(error).toMatchObject({ status: "error", error: "The task failed with an unexpected error" })
        expect(JSON.stringify(error)).not.toContain("thrown in a task")
      }))

    it.effect("a task past its timeout ends in error with a timeout message", () =>
      Effect.gen(function*() {
        const fast = yield* submit("/slow_task", { ms: 10 })
        expect(yield* until(`/slow_task/${fast.body.task_id}`, ended)).toMatchObject({
          status: "finished",
          result: { slept: 10 }
        })
        const slow = yield* submit("/slow_task", { ms: 5_000 })
        const error = yield* until(`/slow_task/${slow.body.task_id}`, ended)
        expect(error.status).toBe("error")
        expect(error.error).toMatch(/timed out after 300/)
      }))

    it.effect("retries happen as configured", () =>
      Effect.gen(function*() {
        const twice = crypto.randomUUID()
        const recovered = yield* submit("/flaky", { key: twice, failures: 2 })
        expect(yield* until(`/flaky/${recovered.body.task_id}`, ended)).toMatchObject({
          status: "finished",
          result: { attempts: 3 },
          attempts: 3
        })
        const always = crypto.randomUUID()
        const exhausted = yield* submit("/flaky", { key: always, failures: 10 })
        expect(yield* until(`/flaky/${exhausted.body.task_id}`, ended)).toMatchObject({
          status: "error",
          error: "attempt 3 failed",
          attempts: 3
        })
        expect(yield* Counter.use((counter) => counter.get(`flaky:${always}`))).toBe(3)
      }))

    it.effect("results older than the retention are gone", () =>
      Effect.gen(function*() {
        const { body } = yield* submit("/short", { x: 1 })
        expect(yield* until(`/short/${body.task_id}`, ended)).toMatchObject({ status: "finished", result: { x: 1 } })
        const deadline = Date.now() + 5_000
        let status = 200
        while (status === 200 && Date.now() < deadline) {
          status = (yield* get(`/short/${body.task_id}`)).status
          if (status === 200) yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 50)))
        }
        expect(status).toBe(404)
      }))

    it.effect("/process/task runs a whole request in the background: finished with a completed response", () =>
      Effect.gen(function*() {
        const submitted = yield* submit("/process/task", userText("hello"))
        expect(submitted.body).toMatchObject({ status: "submitted", queue: "default" })
        expect(typeof submitted.body.session_id).toBe("string")
        const done = yield* until(`/process/task/${submitted.body.task_id}`, ended)
        expect(done.status).toBe("finished")
        expect(done.result).toMatchObject({ object: "response", status: "completed", session_id: submitted.body.session_id })
        expect(done.result.output[0].content[0].text).toBe("Hello World!")
        const bad = yield* submit("/process/task", { input: "not a list" })
        expect(bad.status).toBe(400)
      }))

    it.effect("/process/task goes through the session lease: a stop cancels it, and its status says so", () =>
      Effect.gen(function*() {
        const ids = { session_id: `bg-${crypto.randomUUID()}`, user_id: "u" }
        const submitted = yield* submit("/process/task", userText("x", { mode: "endless", ...ids }))
        yield* until(`/process/task/${submitted.body.task_id}`, (status) => status.status === "running")
        // the session is held: a foreground run in it is refused
        const busy = yield* call((url) => postJson(`${url}/process`, userText("x", ids)).then((r) => r.status))
        expect(busy).toBe(409)
        // the stop may race the claim just after the job starts: retry until it lands
        const deadline = Date.now() + 5_000
        let stopped = 404
        while (stopped === 404 && Date.now() < deadline) {
          stopped = yield* call((url) => postJson(`${url}/stop`, ids).then((r) => r.status))
        }
        expect(stopped).toBe(200)
        const done = yield* until(`/process/task/${submitted.body.task_id}`, ended)
        expect(done.status).toBe("finished")
        expect(done.result).toMatchObject({ object: "response", status: "canceled" })
        // and the session is free again
        const again = yield* call((url) =>
          postJson(`${url}/process`, userText("x", ids)).then((response) => readStream(response))
        )
        expect(checkRun(again.filter((frame) => frame.data).map((frame) => JSON.parse(frame.data!))).status)
          .toBe("completed")
      }))
  })
