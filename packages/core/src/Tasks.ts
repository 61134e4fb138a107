/**
 * Background tasks: how a task is queued and run (`AgentApp.task`), and the
 * roles an app serves in. `POST <path>` enqueues a job and answers at once
 * with its `task_id`; `GET <path>/<task_id>` answers its status and result.
 * Workers run the jobs, in the API process or in processes of their own: an
 * app serves as `"api"` (routes only), `"worker"` (workers only) or
 * `"both"`.
 *
 * @since 0.1.0
 */
import { Duration, type Schema } from "effect"
import type * as TaskQueue from "./TaskQueue.ts"

/**
 * What a served app does: answer the API, run workers, or both.
 *
 * @since 0.1.0
 */
export type Role = "api" | "worker" | "both"

/**
 * How a task is queued and run.
 *
 * @since 0.1.0
 */
export interface Options<P, I> {
  /** Decodes the JSON body; an invalid one gets 400 before anything is enqueued. */
  readonly payload: Schema.Codec<P, I>
  /** The queue. Default `"default"`. */
  readonly queue?: string | undefined
  /** The name workers know the task by. Default: its path. */
  readonly name?: string | undefined
  /** A run that takes longer fails with a timeout message (and is retried if attempts remain). */
  readonly timeout?: Duration.Input | undefined
  /** Runs in all, the first included. Default 1 (no retry). */
  readonly attempts?: number | undefined
  /** Delay before the first retry, doubling after. Default 1 s. */
  readonly backoff?: Duration.Input | undefined
  /** How long the result is kept once the task ends. Default 1 hour. */
  readonly retention?: Duration.Input | undefined
}

/**
 * The queue options of a task, with defaults.

 *
 * @since 0.1.0
 */
export const jobOptions = (options: {
  readonly attempts?: number | undefined
  readonly backoff?: Duration.Input | undefined
  readonly retention?: Duration.Input | undefined
}): TaskQueue.JobOptions => ({
  attempts: Math.max(1, Math.floor(options.attempts ?? 1)),
  backoff: Duration.fromInputUnsafe(options.backoff ?? Duration.seconds(1)),
  retention: Duration.fromInputUnsafe(options.retention ?? Duration.hours(1))
})
