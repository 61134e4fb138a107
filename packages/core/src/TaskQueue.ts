/**
 * Background tasks. `TaskQueue` is the pluggable part: it stores jobs and
 * their results, and runs workers. The memory layer runs them in this
 * process; `@agentapp/redis` has a BullMQ layer for several processes.
 *
 * Retries with backoff and the retention of results belong to the queue; the
 * timeout of a run is applied by the worker that runs it.
 *
 * @since 0.1.0
 */
import { Cause, Clock, Context, Duration, Effect, Layer, Option, Queue, Schedule, Schema, Scope } from "effect"
import { HttpServerRespondable } from "effect/http"
import { unavailable } from "./internal/http/httpError.ts"
import { failureOf } from "./internal/util/failure.ts"
import { randomUuid } from "./internal/util/ids.ts"

/**
 * Where a task is: `pending` (queued, or waiting to retry), `running`,
 * `finished` (with its result) or `error` (with the message).
 *
 * @since 0.1.0
 */
export type TaskState = "pending" | "running" | "finished" | "error"

/**
 * What `GET <path>/<task_id>` answers.
 *
 * @since 0.1.0
 */
export interface TaskStatus {
  readonly status: TaskState
  readonly result: unknown
  readonly error?: string | undefined
  /** Unix seconds of the start of the current (or last) attempt. */
  readonly started_at?: number | undefined
  /** Unix seconds of the end. */
  readonly finished_at?: number | undefined
  /** Attempts made so far. */
  readonly attempts: number
}

/**
 * How a job is run and kept.
 *
 * @since 0.1.0
 */
export interface JobOptions {
  /** Runs in all, the first included (1 = no retry). */
  readonly attempts: number
  /** Delay before the first retry; it doubles with each further one. */
  readonly backoff: Duration.Duration
  /** How long the result (or error) is kept after the job ends. */
  readonly retention: Duration.Duration
  /** The user who submitted it (with `Auth`): only they read its status. */
  readonly owner?: string | undefined
}

/**
 * A job as a worker sees it.
 *
 * @since 0.1.0
 */
export interface Job {
  readonly id: string
  readonly task: string
  readonly payload: unknown
  /** 1 for the first run, 2 for the first retry, … */
  readonly attempt: number
}

/**
 * The queue failed (for example Redis is unreachable).
 *
 * @since 0.1.0
 */
export class TaskQueueError extends Schema.TaggedError<TaskQueueError>()("TaskQueueError", {
  message: Schema.String,
  cause: Schema.optional(Schema.Defect())
}) {
  /** A backend away: 503 `backend_unavailable`. */
  [HttpServerRespondable.symbol]() {
    return unavailable(this)
  }
}

/**
 * A job failed: its message is what the task status shows.
 *
 * @since 0.1.0
 */
export class JobFailed extends Schema.TaggedError<JobFailed>()("JobFailed", {
  message: Schema.String,
  /** No attempt can succeed (its payload is invalid): it ends in `error` at once, whatever attempts remain. */
  unrecoverable: Schema.optional(Schema.Boolean)
}) {}

/**
 * Whether a failed run must not be retried: it failed with an unrecoverable
 * `JobFailed`.
 *
 * @since 0.1.0
 */
export const isUnrecoverable = (cause: Cause.Cause<unknown>): boolean => {
  const error = failureOf(cause)?.error
  return error instanceof JobFailed && error.unrecoverable === true
}

/**
 * The primitives of a task queue.
 *
 * @since 0.1.0
 */
export class TaskQueue extends Context.Service<TaskQueue, {
  /** Enqueues a job; the payload and result are JSON. Gives the task id. */
  readonly submit: (
    queue: string,
    task: string,
    payload: unknown,
    options: JobOptions
  ) => Effect.Effect<string, TaskQueueError>
  /**
   * The status of a job, `None` when it is unknown or its retention has
   * passed, or when `options.task` is given and the job is another task's,
   * or `options.owner` and the job is another user's.
   */
  readonly status: (
    queue: string,
    id: string,
    options?: { readonly task?: string | undefined; readonly owner?: string | undefined }
  ) => Effect.Effect<Option.Option<TaskStatus>, TaskQueueError>
  /**
   * Runs the jobs of `queue` while the scope is open, `concurrency` at a
   * time. A job whose `process` fails with `JobFailed` is retried as its
   * options say, then ends in `error` with that message.
   */
  readonly work: (
    queue: string,
    process: (job: Job) => Effect.Effect<unknown, JobFailed>,
    options: { readonly concurrency: number }
  ) => Effect.Effect<void, TaskQueueError, Scope.Scope>
  /** Fails while the queue is unavailable; `/readiness` is 503 meanwhile. */
  readonly check: Effect.Effect<void, TaskQueueError>
}>()("@agentapp/core/TaskQueue") {}

/**
 * The delay before retry `n` (1 for the first retry): the backoff, doubled
 * for each retry after the first.
 *
 * @since 0.1.0
 */
export const retryDelay = (backoff: Duration.Duration, retry: number): Duration.Duration =>
  Duration.times(backoff, 2 ** Math.max(0, retry - 1))

/**
 * The message a failed job shows: a typed failure's message (or tag); a
 * defect's details are never shown, only a generic message.
 *
 * @since 0.1.0
 */
export const failureMessage = (cause: Cause.Cause<unknown>): string => {
  const failure = failureOf(cause)
  if (failure === undefined) return "The task failed with an unexpected error"
  return failure.message ?? failure.tag ?? "The task failed"
}

/**
 * Ends a failed run of a job: interruption stays interruption (the job goes
 * back to the queue); anything else fails with `JobFailed`, a defect logged
 * with its cause first.
 *
 * @since 0.1.0
 */
export const jobFailure = (cause: Cause.Cause<unknown>): Effect.Effect<never, JobFailed> =>
  Cause.hasInterruptsOnly(cause)
    ? Effect.failCause(cause as Cause.Cause<never>)
    : Effect.andThen(
      cause.reasons.some(Cause.isFailReason) ? Effect.void : Effect.logError("a task died", cause),
      Effect.suspend(() => {
        const error = failureOf(cause)?.error
        return Effect.fail(error instanceof JobFailed ? error : new JobFailed({ message: failureMessage(cause) }))
      })
    )

interface MemoryJob {
  readonly id: string
  readonly queue: string
  readonly task: string
  readonly payload: string
  readonly options: JobOptions
  state: TaskState
  result: unknown
  error: string | undefined
  attempts: number
  startedAt: number | undefined
  finishedAt: number | undefined
  expiresAt: number | undefined
}

/**
 * Builds the in-memory queue: jobs live in this process and run on the
 * workers of this process. Payloads are kept as JSON text, as in any queue.
 *
 * @since 0.1.0
 */
export const makeMemory = Effect.fnUntraced(function*(options?: {
  readonly sweepInterval?: Duration.Input | undefined
}) {
  const jobs = new Map<string, MemoryJob>()
  const queues = new Map<string, Queue.Queue<string>>()
  const scope = yield* Effect.scope
  const queueOf = (name: string): Effect.Effect<Queue.Queue<string>> =>
    Effect.suspend(() => {
      const queue = queues.get(name)
      if (queue !== undefined) return Effect.succeed(queue)
      return Effect.map(Queue.unbounded<string>(), (created) => {
        // another fiber may have made it meanwhile: keep the first
        const first = queues.get(name) ?? created
        queues.set(name, first)
        return first
      })
    })
  const enqueue = (name: string, id: string) => Effect.flatMap(queueOf(name), (queue) => Queue.offer(queue, id))
  const seconds = (ms: number | undefined) => ms === undefined ? undefined : Math.floor(ms / 1000)

  yield* Effect.forkIn(
    Effect.repeat(
      Effect.map(Clock.currentTimeMillis, (now) => {
        for (const [id, job] of jobs) if (job.expiresAt !== undefined && job.expiresAt <= now) jobs.delete(id)
      }),
      Schedule.spaced(options?.sweepInterval ?? Duration.seconds(10))
    ),
    scope
  )

  const end = (job: MemoryJob, state: "finished" | "error", now: number) => {
    job.state = state
    job.finishedAt = now
    job.expiresAt = now + Duration.toMillis(job.options.retention)
  }

  const runJob = (job: MemoryJob, process: (job: Job) => Effect.Effect<unknown, JobFailed>) =>
    Effect.gen(function*() {
      job.state = "running"
      job.attempts++
      job.startedAt = yield* Clock.currentTimeMillis
      const exit = yield* Effect.exit(process({
        id: job.id,
        task: job.task,
        payload: JSON.parse(job.payload),
        attempt: job.attempts
      }))
      const now = yield* Clock.currentTimeMillis
      if (exit._tag === "Success") {
        job.result = JSON.parse(JSON.stringify(exit.value ?? null))
        return end(job, "finished", now)
      }
      if (Cause.hasInterruptsOnly(exit.cause)) {
        // the worker stopped mid-run: the job goes back to the queue
        job.state = "pending"
        return yield* enqueue(job.queue, job.id)
      }
      job.error = failureMessage(exit.cause)
      if (job.attempts >= job.options.attempts || isUnrecoverable(exit.cause)) return end(job, "error", now)
      job.state = "pending"
      yield* Effect.forkIn(
        Effect.delay(enqueue(job.queue, job.id), retryDelay(job.options.backoff, job.attempts)),
        scope
      )
    })

  return TaskQueue.of({
    submit: (queue, task, payload, jobOptions) =>
      Effect.gen(function*() {
        const json = yield* Effect.try({
          try: () => JSON.stringify(payload),
          catch: (cause) => new TaskQueueError({ message: "The payload is not JSON", cause })
        })
        const id = randomUuid()
        jobs.set(id, {
          id,
          queue,
          task,
          payload: json,
          options: jobOptions,
          state: "pending",
          result: null,
          error: undefined,
          attempts: 0,
          startedAt: undefined,
          finishedAt: undefined,
          expiresAt: undefined
        })
        yield* enqueue(queue, id)
        return id
      }),
    status: (queue, id, statusOptions) =>
      Effect.map(Clock.currentTimeMillis, (now) => {
        const job = jobs.get(id)
        if (job === undefined || job.queue !== queue) return Option.none()
        if (statusOptions?.task !== undefined && job.task !== statusOptions.task) return Option.none()
        if (statusOptions?.owner !== undefined && job.options.owner !== statusOptions.owner) return Option.none()
        if (job.expiresAt !== undefined && job.expiresAt <= now) {
          jobs.delete(id)
          return Option.none()
        }
        return Option.some({
          status: job.state,
          result: job.state === "finished" ? job.result : null,
          error: job.state === "error" ? job.error : undefined,
          started_at: seconds(job.startedAt),
          finished_at: seconds(job.finishedAt),
          attempts: job.attempts
        })
      }),
    work: (queue, process, workOptions) =>
      Effect.gen(function*() {
        const pending = yield* queueOf(queue)
        const worker = Effect.forever(Effect.gen(function*() {
          const id = yield* Queue.take(pending)
          const job = jobs.get(id)
          if (job !== undefined && job.state === "pending") yield* runJob(job, process)
        }))
        for (let i = 0; i < Math.max(1, workOptions.concurrency); i++) yield* Effect.forkScoped(worker)
      }),
    check: Effect.void
  })
})

/**
 * The in-memory queue as a layer: the embedded default.
 *
 * @since 0.1.0
 */
export const layerMemory = (options?: { readonly sweepInterval?: Duration.Input | undefined }): Layer.Layer<
  TaskQueue
> => Layer.effect(TaskQueue, makeMemory(options))
