/** Task routes, the registry of what workers run, and the workers (`AgentApp.task`, `/process/task`). */
import { Context, Duration, Effect, Layer, Option, Schema, type Scope } from "effect"
import { HttpRouter, HttpServerResponse } from "effect/http"
import { AppInfo, register as registerEndpoint } from "../Health.ts"
import { Lifecycle } from "../Lifecycle.ts"
import * as TaskQueue from "../TaskQueue.ts"
import { jobOptions, type Options, type Role } from "../Tasks.ts"
import * as HttpError from "./http/httpError.ts"
import { handlerServices } from "./util/provideContext.ts"
import { callerId } from "./auth/owner.ts"
import type * as Auth from "../Auth.ts"
import * as ApiDocs from "../ApiDocs.ts"

/**
 * A task as workers run it: a JSON payload in, a JSON result out.

 */
export type Runner = (payload: unknown, job: TaskQueue.Job) => Effect.Effect<unknown, TaskQueue.JobFailed>

/**
 * The role of the served app and the tasks its workers run (queue → task
 * name → runner). `AgentApp.serve` provides it.

 */
export class TaskRegistry extends Context.Service<TaskRegistry, {
  readonly role: Role
  readonly runners: Map<string, Map<string, Runner>>
}>()("@agentapp/core/TaskRegistry") {}

/**
 * Wraps a runner with a timeout: a run past it fails with
 * `"Task timed out after …"`.

 */
export const withTimeout = (run: Runner, timeout: Duration.Input | undefined): Runner => {
  if (timeout === undefined) return run
  const duration = Duration.fromInputUnsafe(timeout)
  const message = `Task timed out after ${Duration.format(duration)}`
  return (payload, job) =>
    Effect.timeoutOrElse(run(payload, job), {
      duration,
      orElse: () => Effect.fail(new TaskQueue.JobFailed({ message }))
    })
}

/**
 * A layer that lets this app's workers run `run` for jobs named `name` on
 * `queue` (nothing in the `"api"` role).

 */
export const registerRunner = (queue: string, name: string, run: Runner): Layer.Layer<never, never, TaskRegistry> =>
  Layer.effectDiscard(Effect.gen(function*() {
    const registry = yield* TaskRegistry
    if (registry.role === "api") return
    let tasks = registry.runners.get(queue)
    if (tasks === undefined) registry.runners.set(queue, tasks = new Map())
    tasks.set(name, run)
  }))

/**
 * The reply to a submitted task: `{task_id, status: "submitted", queue, message}` and what else
 * the submitter adds.

 */
export const submittedReply = <A extends { readonly task_id: string }>(queue: string, submitted: A) => ({
  ...submitted,
  status: "submitted" as const,
  queue,
  message: `Task ${submitted.task_id} submitted to queue ${queue}`
})

const notFound = (id: string) =>
  HttpServerResponse.jsonUnsafe({ error: `Task ${HttpError.capText(id, 128)} not found` }, { status: 404 })


/**
 * The routes of a task: `POST path` (submit) and `GET path/:task_id`
 * (status). `submit` decodes the body and enqueues; nothing is mounted in
 * the `"worker"` role.
 */
export const taskRoutes = (
  path: HttpRouter.PathInput,
  queue: string,
  submit: (body: unknown) => Effect.Effect<
    Record<string, unknown> & { readonly task_id: string },
    HttpError.RequestError | TaskQueue.TaskQueueError | Auth.Forbidden
  >,
  options: {
    readonly maxBodySize: number
    /** Its name in `GET /`. */
    readonly name: string
    /** The task it submits: `GET path/:task_id` answers only tasks of this name. */
    readonly task: string
    /** What `POST path` takes, for the API description. */
    readonly payload: ApiDocs.Shape
  }
): Layer.Layer<never, never, HttpRouter.HttpRouter | AppInfo | Lifecycle | TaskQueue.TaskQueue | ApiDocs.Operations> =>
  Layer.unwrap(Effect.gen(function*() {
    const tasks = yield* TaskQueue.TaskQueue
    const lifecycle = yield* Lifecycle
    const readJson = HttpError.readJson(options.maxBodySize)

    const post = HttpError.respondOnError(Effect.gen(function*() {
      if (lifecycle.phase() === "draining") return HttpError.shuttingDown
      return HttpServerResponse.jsonUnsafe(submittedReply(queue, yield* Effect.flatMap(readJson, submit)))
    }))

    const get = HttpError.respondOnError(Effect.gen(function*() {
      const id = (yield* HttpRouter.params).task_id ?? ""
      const status = yield* tasks.status(queue, id, { task: options.task, owner: yield* callerId })
      return Option.match(status, {
        onNone: () => notFound(id),
        onSome: (status) => HttpServerResponse.jsonUnsafe(status)
      })
    }))

    return Layer.mergeAll(
      HttpRouter.add("POST", path, post),
      HttpRouter.add("GET", `${path}/:task_id` as HttpRouter.PathInput, get),
      ApiDocs.describe("POST", path, {
        summary: `Submits a ${options.name} task`,
        tags: ["tasks"],
        body: { shape: options.payload },
        responses: {
          "200": { description: "Submitted: `{task_id, status: \"submitted\", queue, message}`", contentType: "application/json" },
          "400": { description: "The payload does not match", contentType: "application/json", shape: { ref: "Error" } }
        }
      }),
      ApiDocs.describe("GET", `${path}/:task_id`, {
        summary: `The status and result of a ${options.name} task`,
        tags: ["tasks"],
        responses: {
          "200": { description: "`{status: pending | running | finished | error, result, started_at?, finished_at?, attempts}`", contentType: "application/json" },
          "404": { description: "Unknown, expired, or another user's", contentType: "application/json" }
        }
      }),
      registerEndpoint(options.name, path)
    )
  }))

/**
 * Starts the workers of every queue that has registered tasks, for the life
 * of the current scope.

 */
export const startWorkers = Effect.fn("Tasks.startWorkers")(function*(options: { readonly concurrency: number }) {
  const registry = yield* TaskRegistry
  const tasks = yield* TaskQueue.TaskQueue
  for (const [queue, runners] of registry.runners) {
    yield* tasks.work(queue, (job) => {
      const run = runners.get(job.task)
      return run === undefined
        ? Effect.fail(new TaskQueue.JobFailed({ message: `No worker here runs task ${job.task}` }))
        : run(job.payload, job)
    }, options)
    yield* Effect.logInfo(`worker started on queue ${queue} (${[...runners.keys()].join(", ")})`)
  }
})

/**
 * Builds the layer of a task: its routes and its runner.

 */
export const make = <P, I, A, E, R>(
  path: HttpRouter.PathInput,
  options: Options<P, I>,
  handler: (payload: P) => Effect.Effect<A, E, R>,
  settings: { readonly maxBodySize: number }
): Layer.Layer<
  never,
  never,
  HttpRouter.HttpRouter | AppInfo | Lifecycle | TaskRegistry | TaskQueue.TaskQueue | ApiDocs.Operations | Exclude<R, Scope.Scope>
> => {
  const queue = options.queue ?? "default"
  const name = options.name ?? path
  const job = jobOptions(options)
  const codec = Schema.toCodecJson(options.payload as Schema.Codec<P, I>)
  const decodeBody = HttpError.decode(options.payload as Schema.Codec<P, unknown>, "task payload")
  const encode = Schema.encodeEffect(codec)
  const decode = Schema.decodeUnknownEffect(codec)
  return Layer.unwrap(Effect.gen(function*() {
    const tasks = yield* TaskQueue.TaskQueue
    const services = handlerServices(yield* Effect.context<Exclude<R, Scope.Scope>>())
    const run: Runner = (payload) =>
      decode(payload).pipe(
        Effect.mapError((error) =>
          new TaskQueue.JobFailed({ message: `Invalid payload: ${error.message}`, unrecoverable: true })
        ),
        // each run has a scope of its own, closed when it ends
        Effect.flatMap((payload) => Effect.scoped(handler(payload))),
        // a worker that stops mid-run leaves the job to the queue: interruption stays interruption
        Effect.catchCause(TaskQueue.jobFailure),
        Effect.provideContext(services)
      )
    const submit = (body: unknown) =>
      decodeBody(body).pipe(
        Effect.flatMap((payload) =>
          Effect.mapError(encode(payload), (error) => HttpError.invalidRequest(error.message))
        ),
        Effect.flatMap((json) => Effect.flatMap(callerId, (owner) => tasks.submit(queue, name, json, owner === undefined ? job : { ...job, owner }))),
        Effect.map((task_id) => ({ task_id }))
      )
    return Layer.mergeAll(
      taskRoutes(path, queue, submit, { maxBodySize: settings.maxBodySize, name: path.slice(1) || path, task: name, payload: options.payload as Schema.Top }),
      registerRunner(queue, name, withTimeout(run, options.timeout))
    )
  }))
}
