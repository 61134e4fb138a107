/** `/process/task`: a whole agent request run by a worker, its result the final response. */
import { Effect, Layer, Schema } from "effect"
import type { HttpRouter } from "effect/http"
import * as Protocol from "../../Protocol.ts"
import * as Runner from "../../Runner.ts"
import * as TaskQueue from "../../TaskQueue.ts"
import * as HttpError from "../http/httpError.ts"
import { callerId } from "../auth/owner.ts"
import type { Runs } from "../run/start.ts"
import type { Settings } from "../settings.ts"
import { registerRunner, type Runner as TaskRunner, taskRoutes } from "../tasks.ts"

/** The name of the job that runs a whole agent request. */
export const PROCESS_TASK = "agentapp.process"

/** Decodes and enqueues an agent request: what `POST /process/task` and RPC `SubmitTask` do. */
export const submitProcessTask = (tasks: TaskQueue.TaskQueue["Service"], settings: Settings) => {
  const decode = HttpError.decode(Protocol.AgentRequest, "request")
  return <E>(runs: Runs<E>) => (body: unknown) =>
    Effect.gen(function*() {
      const request = yield* runs.settle(yield* decode(body))
      const owner = yield* callerId
      const job = owner === undefined ? settings.processJob : { ...settings.processJob, owner }
      const task_id = yield* tasks.submit(settings.processQueue, PROCESS_TASK, request, job)
      return { task_id, session_id: request.session_id!, user_id: request.user_id! }
    })
}

/** The routes of `/process/task` and the worker that runs its jobs. */
export const processTaskRoutes = <E>(
  runs: Runs<E>,
  tasks: TaskQueue.TaskQueue["Service"],
  settings: Settings
) => {
  // a job's turn is its id, so that a retried job starts its turn (and appends its reply) once
  const runInBackground: TaskRunner = (payload, job) =>
    Effect.scoped(Effect.gen(function*() {
      const request = yield* Effect.mapError(
        Schema.decodeUnknownEffect(Protocol.AgentRequest)(payload),
        (error) => new TaskQueue.JobFailed({ message: `Invalid payload: ${error.message}`, unrecoverable: true })
      )
      return yield* Runner.finalResponse(runs.events(yield* runs.start(request, undefined, `job:${job.id}`)))
    })).pipe(Effect.catchCause(TaskQueue.jobFailure))
  return Layer.merge(
    taskRoutes(`${settings.processPath}/task` as HttpRouter.PathInput, settings.processQueue, submitProcessTask(tasks, settings)(runs), {
      maxBodySize: settings.maxBodySize,
      name: "process_task",
      task: PROCESS_TASK,
      payload: { ref: "AgentRequest" }
    }),
    registerRunner(settings.processQueue, PROCESS_TASK, runInBackground)
  )
}
