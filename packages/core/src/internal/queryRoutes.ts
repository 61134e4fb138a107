import type * as Arr from "effect/Array"
import { Cause, Effect, Layer, Option, type Pull, Schema, type Scope, Stream } from "effect"
import { HttpRouter, HttpServerRequest, HttpServerResponse } from "effect/http"
import { clearImmediate, setImmediate } from "node:timers"
import type { QueryContext, QueryHandler, Settings } from "../AgentApp.ts"
import * as AgentRpc from "../AgentRpc.ts"
import * as Health from "../Health.ts"
import * as Interrupt from "../Interrupt.ts"
import { Lifecycle } from "../Lifecycle.ts"
import type * as Output from "../Output.ts"
import * as Protocol from "../Protocol.ts"
import * as Runner from "../Runner.ts"
import * as SessionStore from "../SessionStore.ts"
import * as Sse from "../Sse.ts"
import * as TaskQueue from "../TaskQueue.ts"
import * as Tasks from "../Tasks.ts"
import { closeAfterResponse, StreamWriter } from "./connection.ts"
import * as HttpError from "./httpError.ts"
import { prefixedId, randomUuid } from "./ids.ts"
import { KeepAlive } from "./keepAlive.ts"
import { rpcRoute } from "./rpcRoute.ts"
import { handlerServices, missingServices, provideContextCached } from "./provideContext.ts"

/**
 * Resumes in the check phase of this turn of the event loop, after the I/O
 * the turn polled. (`Effect.yieldNow` does the same through the fiber's
 * scheduler, which then keeps a dispatcher of its own for the fiber's life:
 * 0.23 KB more per open stream.)
 */
const laterThisTurn: Effect.Effect<void> = Effect.callback<void>((resume) => {
  const immediate = setImmediate(() => resume(Effect.void))
  return Effect.sync(() => clearImmediate(immediate))
})

/** A session's key: `user_id` defaults to the session id, as in the original. */
const sessionKey = (sessionId: string, userId: string | null | undefined): Interrupt.SessionKey =>
  Interrupt.makeSessionKey(userId ?? sessionId, sessionId)

const stateOf = (status: Protocol.RunStatus): Exclude<Interrupt.RunState, "RUNNING"> =>
  status === "completed" ? "FINISHED" : status === "failed" ? "ERROR" : "STOPPED"

/** The completed messages of a response, as history messages (without their event fields). */
const toHistory = (output: ReadonlyArray<Protocol.MessageEvent>): Array<Protocol.Message> =>
  output.filter((message) => message.status === "completed").map((message) => ({
    id: message.id,
    type: message.type,
    role: message.role,
    content: (message.content ?? []).map(
      ({ sequence_number: _s, object: _o, status: _st, error: _e, index: _i, delta: _d, msg_id: _m, ...part }) =>
        part as Protocol.Content
    ),
    ...(message.metadata === null ? {} : { metadata: message.metadata }),
    ...(message.usage === null ? {} : { usage: message.usage })
  }))


/**
 * A decoded message with arrays of its exact length: Schema's decoding builds
 * arrays by pushing, which leaves a one-part array room for 17 (130 bytes
 * more), and a run keeps its request for its whole life.
 */
const compactMessage = (message: Protocol.Message): Protocol.Message =>
  message.content == null ? message : { ...message, content: message.content.slice() }

/** A run whose session is claimed: what `Runner.events` or `Runner.pull` runs. */
interface Run<E> {
  readonly context: QueryContext
  readonly outputs: Stream.Stream<Output.AgentOutput, E>
  readonly options: Runner.RunOptions
}

/** The name of the job that runs a whole agent request for `/process/task`. */
const PROCESS_TASK = "agentapp.process"

/**
 * The routes of a query handler: `POST /process`, `POST /stop`, `/process/task` and `/rpc`,
 * with the worker that runs `/process/task` jobs.
 */
export const queryRoutes = <E, R>(settings: Settings, handler: QueryHandler<E, R>) =>
  Layer.unwrap(Effect.gen(function*() {
    const lifecycle = yield* Lifecycle
    const backend = yield* Interrupt.InterruptBackend
    const store = yield* SessionStore.SessionStore
    const tasks = yield* TaskQueue.TaskQueue
    const missingIn = missingServices(handlerServices(yield* Effect.context<R>()))
    const readJson = HttpError.readJson(settings.maxBodySize)
    const decode = HttpError.decode(Protocol.AgentRequest, "request")
    const keepAlive = yield* KeepAlive
    const record = (key: Interrupt.SessionKey, claim: Interrupt.Claim, turn: string | undefined) =>
    (response: Protocol.ResponseEvent) =>
      Effect.andThen(
        settings.history
          ? store.appendHistory(key, toHistory(response.output), turn).pipe(
            Effect.catchCause((cause) => Effect.logWarning("could not append to the session history", cause))
          )
          : Effect.void,
        claim.finish(stateOf(response.status))
      )

    /** ids are settled before anything else, so anonymous requests never collide */
    const settleIds = (request: Protocol.AgentRequest): Protocol.AgentRequest => {
      const sessionId = request.session_id ?? randomUuid()
      const input = request.input.map(compactMessage)
      return { ...request, input, session_id: sessionId, user_id: request.user_id ?? sessionId }
    }

    /**
     * Claims the session and gives the run, ready to start; the claim lasts as
     * long as the current scope (the HTTP request, or the job). A job's turn
     * is its id, so that a retried job starts its turn (and appends its reply) once.
     */
    const start = Effect.fnUntraced(function*(
      request: Protocol.AgentRequest,
      onDrain: (() => void) | undefined,
      turn?: string
    ) {
      // A run waits for the end of this turn of the event loop before its work, so that the requests
      // read in the same turn are all started first: a stop among them is handled before the runs'
      // work rather than after it (bench §4: a stop's wait under load halves at the median)
      yield* laterThisTurn
      const key = Interrupt.makeSessionKey(request.user_id!, request.session_id!)
      const claim = yield* Interrupt.claimWith(backend, key, settings.claim)
      const history = settings.history ? yield* store.startTurn(key, request.input, turn) : []
      const context: QueryContext = {
        request,
        responseId: request.id ?? prefixedId("response"),
        sessionId: key.sessionId,
        userId: key.userId,
        key,
        history
      }
      const handlerOutputs = Stream.suspend(() => {
        const result = handler(request, context)
        return Stream.isStream(result) ? result : Stream.unwrap(result)
      })
      const missing = missingIn(yield* Effect.context<never>())
      // with nothing missing, the fiber that runs the stream has every service it requires
      const outputs = missing === undefined
        ? handlerOutputs as Stream.Stream<Output.AgentOutput, E>
        : provideContextCached(handlerOutputs, missing)
      yield* lifecycle.enter({ onDrain, cancel: claim.stopped })
      return { context, outputs, options: { cancel: claim.stopped, onEnd: record(key, claim, turn) } } satisfies Run<E>
    })
    const events = (run: Run<E>) => Runner.events(run.context, run.outputs, run.options)

    /**
     * The SSE reply of a run. When the first chunk of events already ends the
     * run (a handler that never waits), it is one body with its length;
     * otherwise the events stream on, with keep-alive comments while quiet.
     */
    const sseReply = Effect.fnUntraced(function*(run: Run<E>, httpRequest: HttpServerRequest.HttpServerRequest) {
      const opened = yield* Runner.open(run.context, run.outputs, run.options)
      const pull = opened.pull
      // the first pull always gives the opening events: it never ends the pull
      const first = yield* Effect.orDie(pull)
      if (Runner.isComplete(first)) return Sse.whole(first, Sse.eventFrame)
      const writer = StreamWriter.of(httpRequest)
      const watch = yield* keepAlive.watch(writer)
      let head: typeof first | undefined = first
      if (writer !== undefined) {
        // on Node, the first chunk goes out with the head through the platform, and the rest of the
        // run straight to the socket from the fiber that pulls the handler: one fiber resumed per chunk
        const write = (events: Runner.Events) => {
          watch.touch()
          return writer.write(Sse.chunkText(events, Sse.eventFrame))
        }
        let drained = false
        const chunks = Effect.suspend((): Pull.Pull<Arr.NonEmptyReadonlyArray<Uint8Array>, never, void> => {
          if (head !== undefined) {
            const chunk = head
            head = undefined
            watch.touch()
            return Effect.succeed([Sse.chunkBytes(chunk, Sse.eventFrame)])
          }
          if (drained) return Cause.done()
          drained = true
          writer.compactHead()
          return Effect.andThen(opened.drain(write), Cause.done())
        })
        return Sse.response(Stream.fromPull(Effect.succeed(chunks)))
      }
      // elsewhere, the first chunk, then the rest of the same pull, framed in the pull itself
      // (`Stream.prepend` and `Sse.encode` would each add a stream layer, kept for the life of the
      // stream, to every pull). The Node path above takes its first chunk on its own rather than
      // sharing this pull: sharing it keeps this `map` on the stack for the whole drain (about
      // 0.15 KB more per open stream, measured)
      const frames = Effect.map(
        Effect.suspend(() => {
          if (head === undefined) return pull
          const chunk = head
          head = undefined
          return Effect.succeed(chunk)
        }),
        (chunk): Arr.NonEmptyReadonlyArray<Uint8Array> => {
          watch.touch()
          return [Sse.chunkBytes(chunk, Sse.eventFrame)]
        }
      )
      return Sse.response(Stream.fromPull(Effect.succeed(frames)))
    })

    const refused = <A>(effect: Effect.Effect<A, any, any>) =>
      effect.pipe(
        Effect.catchTags({
          RequestError: (error: HttpError.RequestError) => Effect.succeed(HttpError.toResponse(error)),
          SessionBusy: (error: Interrupt.SessionBusy) =>
            Effect.succeed(HttpError.errorResponse(409, "session_busy", error.message)),
          InterruptBackendError: (error: Interrupt.InterruptBackendError) => Effect.succeed(HttpError.unavailable(error)),
          SessionStoreError: (error: SessionStore.SessionStoreError) => Effect.succeed(HttpError.unavailable(error))
        })
      )

    const process = refused(Effect.gen(function*() {
      if (lifecycle.phase() === "draining") return HttpError.shuttingDown
      const request = settleIds(yield* Effect.flatMap(readJson, decode))
      const httpRequest = yield* HttpServerRequest.HttpServerRequest
      const run = yield* start(request, closeAfterResponse(httpRequest))
      if (request.stream === false) {
        return HttpServerResponse.jsonUnsafe(yield* Runner.finalResponse(events(run)))
      }
      return yield* sseReply(run, httpRequest)
    })) as Effect.Effect<HttpServerResponse.HttpServerResponse, never, HttpServerRequest.HttpServerRequest | Scope.Scope>

    /** A whole request run by a worker: its result is the final response. */
    const runInBackground: Tasks.Runner = (payload, job) =>
      Effect.scoped(Effect.gen(function*() {
        const request = yield* Schema.decodeUnknownEffect(Protocol.AgentRequest)(payload)
        return yield* Runner.finalResponse(events(yield* start(request, undefined, `job:${job.id}`)))
      })).pipe(Effect.catchCause(TaskQueue.jobFailure))

    const submitInBackground = (body: unknown) =>
      Effect.gen(function*() {
        const request = settleIds(yield* decode(body))
        const task_id = yield* tasks.submit(settings.processQueue, PROCESS_TASK, request, settings.processJob)
        return { task_id, session_id: request.session_id!, user_id: request.user_id! }
      })

    const toInvalid = (error: HttpError.RequestError) =>
      new AgentRpc.InvalidRequest({
        message: error.message,
        issues: Array.isArray(error.details) ? error.details : []
      })
    const toUnavailable = (error: { readonly message: string }) => new AgentRpc.Unavailable({ message: error.message })
    const refusedWhileDraining = Effect.suspend(() =>
      lifecycle.phase() === "draining"
        ? Effect.fail(new AgentRpc.Unavailable({ message: "The server is shutting down" }))
        : Effect.void
    )
    const decodeRun = HttpError.decode(AgentRpc.RunPayload, "payload")
    const decodeStop = HttpError.decode(AgentRpc.StopPayload, "payload")
    const decodeGetTask = HttpError.decode(AgentRpc.GetTaskPayload, "payload")
    const requestOf = (payload: unknown) =>
      Effect.mapError(Effect.flatMap(decodeRun(payload), ({ request }) => decode(request)), toInvalid)
    const rpcHandlers = AgentRpc.AgentRpcs.toLayer({
      Process: (payload) =>
        Stream.unwrap(Effect.gen(function*() {
          yield* refusedWhileDraining
          const decoded = settleIds(yield* requestOf(payload))
          return events(yield* start(decoded, undefined))
        }).pipe(
          Effect.catchTags({
            InterruptBackendError: (error) => Effect.fail(toUnavailable(error)),
            SessionStoreError: (error) => Effect.fail(toUnavailable(error))
          })
        )),
      Stop: (payload) =>
        Effect.mapError(decodeStop(payload), toInvalid).pipe(
          Effect.flatMap(({ session_id, user_id }) => Interrupt.stop(sessionKey(session_id, user_id))),
          Effect.provideService(Interrupt.InterruptBackend, backend),
          Effect.as({ status: "success" as const, message: "Interrupt signal broadcasted." }),
          Effect.catchTags({
            NoActiveRun: (error) => Effect.fail(new AgentRpc.NotFound({ message: error.message })),
            InterruptBackendError: (error) => Effect.fail(toUnavailable(error))
          })
        ),
      SubmitTask: (payload) =>
        Effect.andThen(refusedWhileDraining, Effect.flatMap(decodeRun(payload), ({ request }) => submitInBackground(request))).pipe(
          Effect.map((submitted) => Tasks.submittedReply(settings.processQueue, submitted)),
          Effect.catchTags({
            RequestError: (error) => Effect.fail(toInvalid(error)),
            TaskQueueError: (error) => Effect.fail(toUnavailable(error))
          })
        ),
      GetTask: (payload) =>
        Effect.mapError(decodeGetTask(payload), toInvalid).pipe(
          Effect.flatMap(({ task_id }) =>
            tasks.status(settings.processQueue, task_id, { task: PROCESS_TASK }).pipe(
              Effect.mapError(toUnavailable),
              Effect.flatMap(Option.match({
                onNone: () =>
                  Effect.fail(new AgentRpc.NotFound({ message: `Task ${HttpError.capText(task_id, 128)} not found` })),
                onSome: Effect.succeed
              }))
            )
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
    const rpc = settings.rpcPath === false ? Layer.empty : Layer.merge(
      rpcRoute(settings.rpcPath, settings.maxBodySize).pipe(Layer.provide(rpcHandlers)),
      Health.register("rpc", settings.rpcPath)
    )

    const processTaskPath = `${settings.processPath}/task` as HttpRouter.PathInput
    // (in the worker role the router drops these routes, and `GET /` does not list them)
    return Layer.mergeAll(
      HttpRouter.add("POST", settings.processPath, process),
      Health.register("process", settings.processPath),
      settings.stopPath === false ? Layer.empty : Layer.merge(
        HttpRouter.add("POST", settings.stopPath, stopRoute(settings, backend)),
        Health.register("stop", settings.stopPath)
      ),
      rpc,
      Tasks.routes(processTaskPath, settings.processQueue, submitInBackground, {
        maxBodySize: settings.maxBodySize,
        name: "process_task",
        task: PROCESS_TASK
      }),
      Tasks.registerRunner(settings.processQueue, PROCESS_TASK, runInBackground),
      Health.readinessCheck("interrupts", backend.check),
      Health.readinessCheck("sessions", store.check),
      Health.readinessCheck("tasks", tasks.check)
    )
  }))

const StopRequest = Schema.Struct({
  session_id: Schema.String,
  user_id: Schema.optionalKey(Schema.NullOr(Schema.String))
})

const stopped = HttpServerResponse.jsonUnsafe({ status: "success", message: "Interrupt signal broadcasted." })

const stopRoute = (settings: Settings, backend: Interrupt.InterruptBackend["Service"]) => {
  const readJson = HttpError.readJson(settings.maxBodySize)
  const decode = HttpError.decode(StopRequest, "stop request")
  return Effect.gen(function*() {
    const body = yield* Effect.flatMap(readJson, decode)
    yield* Interrupt.stop(sessionKey(body.session_id, body.user_id))
    return stopped
  }).pipe(
    Effect.provideService(Interrupt.InterruptBackend, backend),
    Effect.catchTags({
      RequestError: (error) => Effect.succeed(HttpError.toResponse(error)),
      NoActiveRun: (error) =>
        Effect.succeed(HttpError.errorResponse(
          404,
          "not_found",
          error.message,
          error.leaseExpiresAt === undefined ? undefined : { lease_expires_at: new Date(error.leaseExpiresAt).toISOString() }
        )),
      InterruptBackendError: (error) => Effect.succeed(HttpError.unavailable(error))
    })
  )
}
