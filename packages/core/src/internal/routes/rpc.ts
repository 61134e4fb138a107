/** `/rpc`: the handlers of `AgentRpcs`, on the same runs as the REST routes. */
import { Effect, Layer, Option, type Scope, Stream } from "effect"
import type { HttpRouter } from "effect/http"
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
  },
  settings: Settings
) => {
  const { appScope, backend, lifecycle, tasks } = services
  const log = runs.log
  const noLog = Effect.fail(new AgentRpc.NotFound({ message: "This app keeps no event log (its eventLog option is off)" }))
  const follow = (responseId: string, after: number): Stream.Stream<Protocol.Event, AgentRpc.NotFound | AgentRpc.Unavailable> =>
    log === undefined ? Stream.unwrap(noLog) : Stream.unwrap(log.follow(responseId, after).pipe(
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
    Process: (payload) =>
      Stream.unwrap(Effect.gen(function*() {
        yield* refusedWhileDraining
        const request = runs.settleIds(yield* requestOf(payload))
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
        DuplicateRun: (error) => Effect.fail(new AgentRpc.InvalidRequest({ message: error.message, issues: [] }))
      }))),
    Stop: (payload) =>
      Effect.mapError(decodeStop(payload), toInvalid).pipe(
        Effect.flatMap(({ session_id, user_id }) => Interrupt.stop(sessionKey(session_id, user_id))),
        Effect.provideService(Interrupt.InterruptBackend, backend),
        Effect.as({ status: "success" as const, message: "Interrupt signal broadcasted." }),
        Effect.catchTags({
          NoActiveRun: (error) => Effect.fail(new AgentRpc.NotFound({ message: error.message })),
          InterruptBackendError: unavailable.InterruptBackendError
        })
      ),
    SubmitTask: (payload) =>
      Effect.andThen(refusedWhileDraining, Effect.flatMap(decodeRun(payload), ({ request }) => submit(request))).pipe(
        Effect.map((submitted) => submittedReply(settings.processQueue, submitted)),
        Effect.catchTags({ RequestError: (error) => Effect.fail(toInvalid(error)), TaskQueueError: unavailable.TaskQueueError })
      ),
    GetTask: (payload) =>
      Effect.mapError(decodeGetTask(payload), toInvalid).pipe(
        Effect.flatMap(({ task_id }) =>
          tasks.status(settings.processQueue, task_id, { task: PROCESS_TASK }).pipe(
            Effect.catchTags({ TaskQueueError: unavailable.TaskQueueError }),
            Effect.flatMap(Option.match({
              onNone: () =>
                Effect.fail(new AgentRpc.NotFound({ message: `Task ${HttpError.capText(task_id, 128)} not found` })),
              onSome: Effect.succeed
            }))
          )
        )
      ),
    Join: (payload) =>
      Stream.unwrap(Effect.map(
        Effect.mapError(decodeJoin(payload), toInvalid),
        ({ after, response_id }) => follow(response_id, after ?? -1)
      )),
    GetRun: (payload) =>
      Effect.mapError(decodeGetRun(payload), toInvalid).pipe(
        Effect.flatMap(({ response_id }) =>
          log === undefined ? noLog : Effect.map(log.read(response_id), RunLog.responseSoFar).pipe(Effect.catchTags(logErrors))
        )
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
