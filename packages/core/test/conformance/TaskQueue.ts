/**
 * The conformance suite of `TaskQueue` at its own interface: how a failed
 * job is retried, or not.
 */
import { TaskQueue, Tasks } from "@agentapp/core"
import { expect, layer } from "@effect/vitest"
import { Duration, Effect, Layer, Option } from "effect"
import { eventually } from "../../../../test/support/eventually.ts"

export const taskQueueSuite = <E>(name: string, queue: Layer.Layer<TaskQueue.TaskQueue, E>) =>
  layer(queue, { excludeTestServices: true })(`TaskQueue conformance: ${name}`, (it) => {
    it.effect("a job that fails is retried as its options say; an unrecoverable failure (a bad payload) is not", () =>
      Effect.gen(function*() {
        const tasks = yield* TaskQueue.TaskQueue
        const name = `q-${crypto.randomUUID()}`
        yield* tasks.work(name, (job) =>
          Effect.fail(new TaskQueue.JobFailed({
            message: `failed: ${job.task}`,
            unrecoverable: job.task === "bad-payload"
          })), { concurrency: 2 })
        const options = Tasks.jobOptions({ attempts: 3, backoff: Duration.millis(20) })
        const retried = yield* tasks.submit(name, "flaky", {}, options)
        const bad = yield* tasks.submit(name, "bad-payload", {}, options)
        const ended = (id: string) =>
          Effect.map(tasks.status(name, id), (status) => Option.getOrUndefined(status)?.status === "error")
        yield* eventually(Effect.zipWith(ended(retried), ended(bad), (a, b) => a && b), 10_000)
        const [flaky, unrecoverable] = yield* Effect.forEach([retried, bad], (id) =>
          Effect.map(tasks.status(name, id), Option.getOrThrow))
        expect(flaky).toMatchObject({ status: "error", error: "failed: flaky", attempts: 3 })
        expect(unrecoverable).toMatchObject({ status: "error", error: "failed: bad-payload", attempts: 1 })
      }).pipe(Effect.scoped))
  })
