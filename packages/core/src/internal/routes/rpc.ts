/** `/rpc`: the handlers of `AgentRpcs`, on the same runs as the REST routes. */
import { Duration, Effect, Layer, Option, type Scope, Stream } from "effect"
import type { Headers, HttpRouter } from "effect/http"
import * as Auth from "../../Auth.ts"
import { callerId } from "../auth/owner.ts"
import * as AgentRpc from "../../AgentRpc.ts"
import * as Interrupt from "../../Interrupt.ts"
import type { Lifecycle } from "../../Lifecycle.ts"
import * as Protocol from "../../Protocol.ts"
import * as RunLog from "../../RunLog.ts"
import type * as TaskQueue from "../../TaskQueue.ts"
import * as HttpError from "../http/httpError.ts"
import { register } from "../../Health.ts"
import { startDetached } from "../run/detached.ts"
import { outlivesClient, sessionKey, type Runs } from "../run/start.ts"
import type { Settings } from "../settings.ts"
import { submittedReply } from "../tasks.ts"
import { PROCESS_TASK, submitProcessTask } from "./processTask.ts"
import { rpcGuard } from "./rpcGuard.ts"

const toInvalid = (error: HttpError.RequestError) =>
  new AgentRpc.InvalidRequest({ message: error.message, issues: Array.isArray(error.details) ? error.details : [] })

const toUnavailable = (error: { readonly message: string }) => new AgentRpc.Unavailable({ message: error.message })

/** The backends' errors as the RPC group's: a backend away is `Unavailable`. */
const unavailable = {
  InterruptBackendError: (error: Interrupt.InterruptBackendError) => Effect.fail(toUnavailable(error)),
  SessionStoreError: (error: { readonly message: string }) => Effect.fail(toUnavailable(error)),
  TaskQueueError: (error: TaskQueue.TaskQueueError) => Effect.fail(toUnavailable(error))
}

const decodeRun = HttpError.decode(AgentRpc.RunPayload, "payload")
const decodeStop = HttpError.decode(AgentRpc.StopPayload, "payload")
const decodeGetTask = HttpError.decode(AgentRpc.GetTaskPayload, "payload")
const decodeRequest = HttpError.decode(Protocol.AgentRequest, "request")
const decodeJoin = HttpError.decode(AgentRpc.JoinPayload, "payload")
const decodeGetRun = HttpError.decode(AgentRpc.GetRunPayload, "payload")

/** The run log's errors as the RPC group's. */
const logErrors = {
  RunNotFound: (error: RunLog.RunNotFound) => Effect.fail(new AgentRpc.NotFound({ message: error.message })),
  RunLogError: (error: RunLog.RunLogError) => Effect.fail(toUnavailable(error))
}

export const rpcRoutes = <E>(
  path: HttpRouter.PathInput,
  runs: Runs<E>,
  services: {
    readonly lifecycle: Lifecycle["Service"]
    readonly backend: Interrupt.InterruptBackend["Service"]
    readonly tasks: TaskQueue.TaskQueue["Service"]
    readonly appScope: Scope.Scope
    readonly auth: Auth.Auth["Service"] | undefined
  },
  settings: Settings
) => {
  const { appScope, auth, backend, lifecycle, tasks } = services
  // the route's guard authenticated the request; its handlers run on fibers of the RPC server's
  const asCaller = <A, E, R>(headers: Headers.Headers, effect: Effect.Effect<A, E, R>) =>
    auth === undefined ? effect : Effect.flatMap(
      Effect.mapError(auth.authenticate(headers), (error) => new AgentRpc.Forbidden({ message: error.message })),
      (principal) => Effect.provideService(effect, Auth.CurrentPrincipal, principal)
    )
  const forbidden = { Forbidden: (error: { readonly message: string }) => Effect.fail(new AgentRpc.Forbidden({ message: error.message })) }
  const log = runs.log
  const noLog = Effect.fail(new AgentRpc.NotFound({ message: "This app keeps no event log (its eventLog option is off)" }))
  const follow = (responseId: string, after: number, owner?: string): Stream.Stream<Protocol.Event, AgentRpc.NotFound | AgentRpc.Unavailable> =>
    log === undefined ? Stream.unwrap(noLog) : Stream.unwrap(log.follow(responseId, after, { owner }).pipe(
      Effect.map((frames) => Stream.flattenIterable(Stream.map(Stream.mapError(frames, toUnavailable), (text) => RunLog.splitFrames(text).map(RunLog.eventOf)))),
      Effect.catchTags(logErrors)
    ))
  const submit = submitProcessTask(tasks, settings)(runs)
  const refusedWhileDraining = Effect.suspend(() =>
    lifecycle.phase() === "draining"
      ? Effect.fail(new AgentRpc.Unavailable({ message: "The server is shutting down" }))
      : Effect.void
  )
  const requestOf = (payload: unknown) =>
    Effect.mapError(Effect.flatMap(decodeRun(payload), ({ request }) => decodeRequest(request)), toInvalid)

  const handlers = AgentRpc.AgentRpcs.toLayer({
    Process: (payload, { headers }) =>
      Stream.unwrap(asCaller(headers, Effect.gen(function*() {
        yield* refusedWhileDraining
        const request = yield* runs.settle(yield* requestOf(payload))
        // a run that outlives its client: the stream follows its log, and leaving it leaves the run going
        if (log !== undefined && outlivesClient(request)) {
          const run = yield* startDetached(runs, appScope, request)
          // a log dropped before it was read (a memory log over its bounds): the run is out of reach
          return Stream.catchTag(follow(run.context.responseId, -1), "NotFound", (error) => Stream.fail(toUnavailable(error)))
        }
        return runs.events(yield* runs.start(request, undefined))
      }).pipe(Effect.catchTags({
        InterruptBackendError: unavailable.InterruptBackendError,
        SessionStoreError: unavailable.SessionStoreError,
        DuplicateRun: (error) => Effect.fail(new AgentRpc.InvalidRequest({ message: error.message, issues: [] })),
        TooManyRuns: (error) => Effect.fail(new AgentRpc.RateLimited({ message: error.message, retry_after_ms: Duration.toMillis(error.retryAfter) })),
        ...forbidden
      })))),
    Stop: (payload, { headers }) =>
      Effect.mapError(decodeStop(payload), toInvalid).pipe(
        Effect.flatMap(({ session_id, user_id }) => Effect.flatMap(sessionKey(session_id, user_id), Interrupt.stop)),
        Effect.provideService(Interrupt.InterruptBackend, backend),
        Effect.as({ status: "success" as const, message: "Interrupt signal broadcasted." }),
        Effect.catchTags({
          NoActiveRun: (error) => Effect.fail(new AgentRpc.NotFound({ message: error.message })),
          InterruptBackendError: unavailable.InterruptBackendError,
          ...forbidden
        }),
        (effect) => asCaller(headers, effect)
      ),
    SubmitTask: (payload, { headers }) =>
      Effect.andThen(refusedWhileDraining, Effect.flatMap(decodeRun(payload), ({ request }) => submit(request))).pipe(
        Effect.map((submitted) => submittedReply(settings.processQueue, submitted)),
        Effect.catchTags({ RequestError: (error) => Effect.fail(toInvalid(error)), TaskQueueError: unavailable.TaskQueueError, ...forbidden }),
        (effect) => asCaller(headers, effect)
      ),
    GetTask: (payload, { headers }) =>
      Effect.mapError(decodeGetTask(payload), toInvalid).pipe(
        Effect.flatMap(({ task_id }) => Effect.flatMap(callerId, (owner) =>
          tasks.status(settings.processQueue, task_id, { task: PROCESS_TASK, owner }).pipe(
            Effect.catchTags({ TaskQueueError: unavailable.TaskQueueError }),
            Effect.flatMap(Option.match({
              onNone: () =>
                Effect.fail(new AgentRpc.NotFound({ message: `Task ${HttpError.capText(task_id, 128)} not found` })),
              onSome: Effect.succeed
            }))
          ))
        ),
        (effect) => asCaller(headers, effect)
      ),
    Join: (payload, { headers }) =>
      Stream.unwrap(asCaller(headers, Effect.flatMap(
        Effect.mapError(decodeJoin(payload), toInvalid),
        ({ after, response_id }) => Effect.map(callerId, (owner) => follow(response_id, after ?? -1, owner))
      ))),
    GetRun: (payload, { headers }) =>
      Effect.mapError(decodeGetRun(payload), toInvalid).pipe(
        Effect.flatMap(({ response_id }) =>
          log === undefined ? noLog : Effect.flatMap(callerId, (owner) => Effect.map(log.read(response_id, { owner }), RunLog.responseSoFar)).pipe(Effect.catchTags(logErrors))
        ),
        (effect) => asCaller(headers, effect)
      ),
    Health: () =>
      Effect.succeed({
        status: "healthy" as const,
        name: settings.name,
        version: settings.version,
        phase: lifecycle.phase(),
        active_runs: lifecycle.activeRuns()
      })
  })
  return Layer.merge(rpcGuard(path, settings.maxBodySize).pipe(Layer.provide(handlers)), register("rpc", path))
}
