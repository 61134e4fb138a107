/**
 * `TaskQueue` on BullMQ: jobs live in Redis, so that API processes enqueue
 * and worker processes (as many as needed) run them. A worker that dies
 * mid-job leaves a stalled job, which BullMQ hands to another worker.
 *
 * Each job carries its payload and the retention of its result; a result
 * older than that reads as gone (and BullMQ removes it by age).
 *
 * @since 0.1.0
 */
import { TaskQueue } from "@agentapp/core"
import { Job, Queue, UnrecoverableError, Worker } from "bullmq"
import { Duration, Effect, Exit, Layer, Option, Redacted } from "effect"
import { Redis } from "ioredis"
import { reconnectDelay } from "./internal/reconnect.ts"
import { randomUUID as randomUuid } from "node:crypto"

/**
 * Options of the BullMQ queue.
 *
 * @since 0.1.0
 */
export interface Options {
  /** `redis://[user:password@]host:port[/db]`; redacted when it holds a password. */
  readonly url: string | Redacted.Redacted<string>
  /** BullMQ's key prefix. Default `"agentapp:bull"`. */
  readonly prefix?: string | undefined
  /** How often workers look for stalled jobs (a worker that died mid-job). Default 30 s. */
  readonly stalledInterval?: Duration.Input | undefined
  /** How long a job's lock lasts without renewal; a dead worker's job stalls after it. Default 30 s. */
  readonly lockDuration?: Duration.Input | undefined
  /** How many times a job may stall before it fails. Default 1. */
  readonly maxStalledCount?: number | undefined
}

interface JobData {
  readonly payload: unknown
  readonly retentionMs: number
  readonly owner?: string | undefined
}

const millis = (input: Duration.Input | undefined, fallback: Duration.Duration) =>
  Duration.toMillis(Duration.fromInputUnsafe(input ?? fallback))

const stateOf = (state: string): TaskQueue.TaskState | undefined => {
  switch (state) {
    case "completed":
      return "finished"
    case "failed":
      return "error"
    case "active":
      return "running"
    case "waiting":
    case "delayed":
    case "prioritized":
    case "waiting-children":
      return "pending"
    default:
      return undefined
  }
}

const seconds = (ms: number | undefined) => ms === undefined || ms === 0 ? undefined : Math.floor(ms / 1000)

const operationTimeout = Duration.seconds(3)

const describe = (cause: unknown) => cause instanceof Error ? cause.message : String(cause)

/** What `reportErrors` listens to: a queue, a worker or a connection. */
interface ErrorEmitter {
  on(event: "error", listener: (cause: Error) => void): unknown
}

/**
 * Builds the queue; queues, workers and connections close with the scope
 * (a worker lets its running jobs finish first).
 *
 * @since 0.1.0
 */
export const make = Effect.fnUntraced(function*(options: Options) {
  const prefix = options.prefix ?? "agentapp:bull"
  const stalledInterval = millis(options.stalledInterval, Duration.seconds(30))
  const lockDuration = millis(options.lockDuration, Duration.seconds(30))
  const runPromiseExit = Effect.runPromiseExitWith(yield* Effect.context<never>())

  // BullMQ needs the offline queue (it sends commands as it connects) and, for workers, unlimited
  // retries; enqueueing and reading are kept from waiting on an outage by ioredis' command timeout.
  const connection = (settings: { readonly worker: boolean }) =>
    Effect.acquireRelease(
      Effect.sync(() =>
        new Redis(Redacted.isRedacted(options.url) ? Redacted.value(options.url) : options.url, {
          maxRetriesPerRequest: settings.worker ? null : 1,
          ...(settings.worker ? {} : { commandTimeout: Duration.toMillis(operationTimeout) }),
          retryStrategy: reconnectDelay
        })
      ),
      (redis) => Effect.sync(() => redis.disconnect())
    )
  const client = yield* connection({ worker: false })
  const runFork = Effect.runForkWith(yield* Effect.context<never>())
  /**
   * Logs the errors of a queue, a worker or a connection once per outage (the
   * first after it was last ready), not on every reconnect attempt.
   */
  const reportErrors = (emitter: ErrorEmitter, what: string, connection: Redis) => {
    let reported = false
    emitter.on("error", (cause: unknown) => {
      if (reported) return
      reported = true
      runFork(Effect.logError(`BullMQ ${what}: ${describe(cause)}`))
    })
    connection.on("ready", () => {
      reported = false
    })
  }
  reportErrors(client, "connection", client)

  const queues = new Map<string, Queue>()
  const queueOf = (name: string) => {
    let queue = queues.get(name)
    if (queue === undefined) {
      queue = new Queue(name, { connection: client, prefix, skipWaitingForReady: true })
      reportErrors(queue, `queue ${name}`, client)
      queues.set(name, queue)
    }
    return queue
  }
  yield* Effect.addFinalizer(() =>
    Effect.promise(() => Promise.allSettled([...queues.values()].map((queue) => queue.close())))
  )

  const use = <A>(what: string, f: () => Promise<A>) =>
    Effect.tryPromise({
      try: f,
      catch: (cause) => new TaskQueue.TaskQueueError({ message: `${what}: ${describe(cause)}`, cause })
    })

  return TaskQueue.TaskQueue.of({
    submit: (queue, task, payload, job) =>
      use("could not enqueue the task", async () => {
        const retentionMs = Duration.toMillis(job.retention)
        const keep = { age: Math.max(1, Math.ceil(retentionMs / 1000)) }
        const added = await queueOf(queue).add(task, { payload, retentionMs, ...(job.owner === undefined ? {} : { owner: job.owner }) } satisfies JobData, {
          // BullMQ numbers jobs by default: ids that anyone could guess, and so read
          jobId: randomUuid(),
          attempts: job.attempts,
          backoff: { type: "exponential", delay: Duration.toMillis(job.backoff) },
          removeOnComplete: keep,
          removeOnFail: keep
        })
        return added.id!
      }),
    status: (queue, id, statusOptions) =>
      use("could not read the task", async () => {
        // the state first: a job read after it is at least as far along, so a finished one has its result
        const state = stateOf(await queueOf(queue).getJobState(id))
        if (state === undefined) return Option.none()
        const job = await Job.fromId(queueOf(queue), id)
        if (job === undefined) return Option.none()
        if (statusOptions?.task !== undefined && job.name !== statusOptions.task) return Option.none()
        const data = job.data as JobData
        if (statusOptions?.owner !== undefined && data.owner !== statusOptions.owner) return Option.none()
        if (statusOptions?.owner !== undefined && data.owner !== statusOptions.owner) return Option.none()
        if ((state === "finished" || state === "error") && job.finishedOn !== undefined) {
          if (job.finishedOn + data.retentionMs <= Date.now()) {
            await job.remove().catch(() => undefined)
            return Option.none()
          }
        }
        return Option.some({
          status: state,
          result: state === "finished" ? job.returnvalue ?? null : null,
          error: state === "error" ? job.failedReason : undefined,
          started_at: seconds(job.processedOn),
          finished_at: state === "finished" || state === "error" ? seconds(job.finishedOn) : undefined,
          attempts: job.attemptsMade
        } satisfies TaskQueue.TaskStatus)
      }),
    work: (queue, process, work) =>
      Effect.gen(function*() {
        const workerConnection = yield* connection({ worker: true })
        reportErrors(workerConnection, `worker connection of queue ${queue}`, workerConnection)
        const worker = yield* Effect.acquireRelease(
          Effect.sync(() => {
            const worker = new Worker(
              queue,
              async (job) => {
                const data = job.data as JobData
                const exit = await runPromiseExit(process({
                  id: job.id!,
                  task: job.name,
                  payload: data.payload,
                  attempt: job.attemptsMade + 1
                }))
                if (Exit.isSuccess(exit)) return exit.value ?? null
                const message = TaskQueue.failureMessage(exit.cause)
                // an invalid payload fails at once: BullMQ retries no UnrecoverableError
                throw TaskQueue.isUnrecoverable(exit.cause) ? new UnrecoverableError(message) : new Error(message)
              },
              {
                connection: workerConnection,
                prefix,
                concurrency: Math.max(1, work.concurrency),
                stalledInterval,
                lockDuration,
                maxStalledCount: options.maxStalledCount ?? 1
              }
            )
            reportErrors(worker, `worker of queue ${queue}`, workerConnection)
            return worker
          }),
          (worker) =>
            Effect.tryPromise(() => worker.close()).pipe(
              Effect.catchCause((cause) => Effect.logWarning(`the worker of queue ${queue} did not close cleanly`, cause))
            )
        )
        return worker
      }).pipe(Effect.asVoid),
    check: Effect.asVoid(use("Redis is unreachable", () => client.ping()))
  })
})

/**
 * The BullMQ queue as a layer.
 *
 * @since 0.1.0
 */
export const layer = (options: Options): Layer.Layer<TaskQueue.TaskQueue> =>
  Layer.effect(TaskQueue.TaskQueue, make(options))
