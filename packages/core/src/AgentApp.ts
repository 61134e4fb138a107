/**
 * The public builder. `make` describes an app; `query` registers the agent
 * handler on `POST /process`; `endpoint` adds JSON or SSE routes; `serve`
 * turns the routes into a server Layer with health probes, lifespan and
 * graceful shutdown. Any other `HttpRouter` route or middleware layer composes
 * with these, the way the original `AgentApp` is a FastAPI.
 *
 * @example
 * ```ts
 * const Friday = AgentApp.make({ name: "Friday", description: "A helpful assistant" })
 * const Query = Friday.query(() => Stream.make(AgentApp.text("Hello"), AgentApp.text(" World!")))
 * const Main = Friday.serve(Query).pipe(Layer.provide(NodeHttpServer.layer(createServer, { port: 8090 })))
 * AgentApp.runMain(Main)
 * ```
 *
 * @since 0.1.0
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Cause, Duration, Effect, Exit, Layer, Option, Schema, Scope, Stream } from "effect"
import { HttpMiddleware, HttpRouter, HttpServer, HttpServerRequest, HttpServerResponse } from "effect/http"
import { RpcSerialization, RpcServer } from "effect/rpc"
import * as AgentRpc from "./AgentRpc.ts"
import * as Runtime from "effect/Runtime"
import * as Endpoint from "./Endpoint.ts"
import * as Health from "./Health.ts"
import { closeAfterResponse } from "./internal/connection.ts"
import { KeepAlive } from "./internal/keepAlive.ts"
import * as HttpError from "./internal/httpError.ts"
import * as Interrupt from "./Interrupt.ts"
import * as SessionStore from "./SessionStore.ts"
import * as TaskQueue from "./TaskQueue.ts"
import * as Tasks from "./Tasks.ts"
import { Lifecycle } from "./Lifecycle.ts"
import * as Output from "./Output.ts"
import * as Protocol from "./Protocol.ts"
import * as Runner from "./Runner.ts"
import * as Sse from "./Sse.ts"

/**
 * How an app is described and tuned. Only `name` is required.
 *
 * @since 0.1.0
 */
export interface Options {
  readonly name: string
  readonly description?: string | undefined
  /** Reported by `GET /` and `/health`. Default `"0.1.0"`. */
  readonly version?: string | undefined
  /** Largest accepted request body, in bytes. Default 1 MiB. */
  readonly maxBodySize?: number | undefined
  /** Idle interval of the SSE `: keep-alive` comment; 0 turns it off. Default 15 s. */
  readonly keepAlive?: Duration.Input | undefined
  /** How long in-flight runs may go on after shutdown begins. Default 10 s. */
  readonly shutdownGracePeriod?: Duration.Input | undefined
  /** Path of the query route. Default `/process`. */
  readonly processPath?: HttpRouter.PathInput | undefined
  /** Log every request (method, path, status). Default off: the hot path stays lean. */
  readonly logRequests?: boolean | undefined
  /** Path of the stop route; `false` leaves it out. Default `/stop`. */
  readonly stopPath?: HttpRouter.PathInput | false | undefined
  /** Path of the typed RPC route (`AgentRpcs`, ndjson over HTTP); `false` leaves it out. Default `/rpc`. */
  readonly rpcPath?: HttpRouter.PathInput | false | undefined
  /** Task workers: jobs run at once per queue, and the queue of `/process/task`. */
  readonly tasks?: {
    /** Default 4. */
    readonly concurrency?: number | undefined
    /** Default `"default"`. */
    readonly processQueue?: string | undefined
    /** Retention of `/process/task` results. Default 1 hour. */
    readonly retention?: Duration.Input | undefined
  } | undefined
  /** How runs hold their session. */
  readonly sessions?: {
    /** A run in a busy session: `"reject"` (409, the default) or `"interrupt"` the running one and take over. */
    readonly onBusy?: "reject" | "interrupt" | undefined
    /** Lease TTL, renewed every third of it while the run lives. Default 30 s. */
    readonly leaseTtl?: Duration.Input | undefined
    /** How long the final state of a run is kept. Default 600 s. */
    readonly stateTtl?: Duration.Input | undefined
    /** Append each turn's input and completed output to the session history. Default `true`. */
    readonly history?: boolean | undefined
  } | undefined
}

/**
 * The options with every default filled in.
 *
 * @since 0.1.0
 */
export interface Settings {
  readonly name: string
  readonly description: string
  readonly version: string
  readonly maxBodySize: number
  readonly keepAlive: Duration.Duration
  readonly shutdownGracePeriod: Duration.Duration
  readonly processPath: HttpRouter.PathInput
  readonly logRequests: boolean
  readonly stopPath: HttpRouter.PathInput | false
  readonly rpcPath: HttpRouter.PathInput | false
  readonly claim: Interrupt.ClaimOptions
  readonly history: boolean
  readonly concurrency: number
  readonly processQueue: string
  readonly processJob: TaskQueue.JobOptions
}

/**
 * What a query handler knows about its run: the decoded request, and the
 * ids the server settled before the run started.
 *
 * @since 0.1.0
 */
export interface QueryContext extends Runner.RunContext {
  /** The session, for `SessionStore.load` / `SessionStore.save` and `stopChat`. */
  readonly key: Interrupt.SessionKey
  /** The earlier turns of this session, oldest first (empty when history is off). */
  readonly history: ReadonlyArray<Protocol.Message>
}

/**
 * A query handler: the request in, a Stream of outputs out (or an Effect that
 * gives one).
 *
 * @since 0.1.0
 */
export type QueryHandler<E, R> = (
  request: Protocol.AgentRequest,
  context: QueryContext
) => Stream.Stream<Output.AgentOutput, E, R> | Effect.Effect<Stream.Stream<Output.AgentOutput, E, R>, E, R>

/**
 * What a query handler's result requires, whichever mix of Streams and
 * Effects its branches return.
 *
 * @since 0.1.0
 */
export type HandlerServices<Result> = Result extends Stream.Stream<Output.AgentOutput, infer _E, infer R> ? R
  : Result extends Effect.Effect<Stream.Stream<Output.AgentOutput, infer _E1, infer R1>, infer _E2, infer R2> ? R1 | R2
  : never

/**
 * The services `serve` provides to the layers it serves.
 *
 * @since 0.1.0
 */
export type ServeProvided = HttpRouter.HttpRouter | Health.AppInfo | Lifecycle | Tasks.TaskRegistry | KeepAlive

/**
 * A route layer built by `endpoint`: it needs the router and the services
 * `serve` provides, and the handler's own requirements per request.
 *
 * @since 0.1.0
 */
export type RouteLayer<E, R> = Layer.Layer<
  never,
  never,
  | ServeProvided
  | HttpRouter.Request.From<"Requires", Exclude<R, HttpRouter.Provided>>
  | HttpRouter.Request.From<"Error", E>
>

/**
 * Options of `serve`.
 *
 * @since 0.1.0
 */
export interface ServeOptions {
  /**
   * `"both"` (the default) answers the API and runs task workers; `"api"`
   * only answers; `"worker"` only runs workers (and the health routes).
   */
  readonly role?: Tasks.Role | undefined
}

/**
 * An app definition. Build routes with its methods, then `serve` them.
 *
 * @since 0.1.0
 */
export interface AgentApp {
  readonly settings: Settings
  /**
   * Registers the agent on `POST /process`. The Runner numbers its outputs
   * into protocol events; `stream: false` gives the final response as JSON.
   */
  readonly query: <Result extends ReturnType<QueryHandler<any, any>>>(
    handler: (request: Protocol.AgentRequest, context: QueryContext) => Result
  ) => Layer.Layer<
    never,
    never,
    | ServeProvided
    | Interrupt.InterruptBackend
    | SessionStore.SessionStore
    | TaskQueue.TaskQueue
    | HandlerServices<Result>
  >
  /**
   * A background task: `POST path` enqueues the decoded payload and answers
   * `{task_id, status: "submitted", queue, message}` at once; `GET
   * path/:task_id` answers its status and result. Workers run `handler`.
   */
  readonly task: <P, I, A, E, R>(
    path: HttpRouter.PathInput,
    options: Tasks.Options<P, I>,
    handler: (payload: P) => Effect.Effect<A, E, R>
  ) => Layer.Layer<never, never, ServeProvided | TaskQueue.TaskQueue | R>
  /**
   * A route whose handler gives an Effect (sent as JSON) or a Stream (sent
   * as SSE). With options, it receives decoded query parameters, a decoded
   * JSON body and the raw request.
   */
  readonly endpoint: {
    <A, E, R>(
      method: Method,
      path: HttpRouter.PathInput,
      handler: Endpoint.Handler<{}, undefined, A, E, R>
    ): RouteLayer<never, R>
    <Query, Body, A, E, R>(
      method: Method,
      path: HttpRouter.PathInput,
      options: Endpoint.Options<Query, Body>,
      handler: Endpoint.Handler<Query, Body, A, E, R>
    ): RouteLayer<never, R>
  }
  /**
   * Serves the routes: adds the health routes, marks the app ready once every
   * layer is up, and on shutdown turns readiness to 503, lets runs finish
   * within the grace period, then cancels the rest with `response canceled`.
   */
  readonly serve: <A, E, R>(app: Layer.Layer<A, E, R>, options?: ServeOptions) => Layer.Layer<
    never,
    HttpRouter.Request.Without<E> | TaskQueue.TaskQueueError,
    | HttpServer.HttpServer
    | TaskQueue.TaskQueue
    | Exclude<
      | HttpRouter.Request.Without<R>
      | HttpRouter.Request.Only<"Requires", R>
      | HttpRouter.Request.Only<"GlobalRequires", R>,
      ServeProvided
    >
  >
}

/**
 * The embedded backends: in-memory interrupts, sessions and task queue.
 * Provide it to `serve` unless distributed backends (Redis) are provided
 * instead.
 *
 * @since 0.1.0
 */
export const layerMemory: Layer.Layer<
  Interrupt.InterruptBackend | SessionStore.SessionStore | TaskQueue.TaskQueue
> = Layer.mergeAll(
  Interrupt.layerMemory(),
  SessionStore.layerMemory(),
  TaskQueue.layerMemory()
)

/**
 * Stops the run of a session, wherever it runs: the programmatic form of
 * `POST /stop`. Fails with `NoActiveRun` when the session has no running run.
 *
 * @since 0.1.0
 */
export const stopChat = (
  userId: string,
  sessionId: string
): Effect.Effect<void, Interrupt.NoActiveRun | Interrupt.InterruptBackendError, Interrupt.InterruptBackend> =>
  Interrupt.stop({ userId, sessionId })

/**
 * The HTTP methods an endpoint can answer.
 *
 * @since 0.1.0
 */
export type Method = "GET" | "POST" | "PUT" | "PATCH" | "DELETE"

/**
 * Describes an app.
 *
 * @since 0.1.0
 */
export const make = (options: Options): AgentApp => {
  const settings: Settings = {
    name: options.name,
    description: options.description ?? "",
    version: options.version ?? "0.1.0",
    maxBodySize: options.maxBodySize ?? 1024 * 1024,
    keepAlive: Duration.fromInputUnsafe(options.keepAlive ?? Duration.seconds(15)),
    shutdownGracePeriod: Duration.fromInputUnsafe(options.shutdownGracePeriod ?? Duration.seconds(10)),
    processPath: options.processPath ?? "/process",
    logRequests: options.logRequests ?? false,
    stopPath: options.stopPath ?? "/stop",
    rpcPath: options.rpcPath ?? "/rpc",
    claim: {
      onBusy: options.sessions?.onBusy ?? "reject",
      leaseTtl: Duration.fromInputUnsafe(options.sessions?.leaseTtl ?? Duration.seconds(30)),
      stateTtl: Duration.fromInputUnsafe(options.sessions?.stateTtl ?? Duration.seconds(600)),
      takeoverTimeout: Duration.seconds(10)
    },
    history: options.sessions?.history ?? true,
    concurrency: options.tasks?.concurrency ?? 4,
    processQueue: options.tasks?.processQueue ?? "default",
    processJob: Tasks.jobOptions({ retention: options.tasks?.retention })
  }
  return {
    settings,
    query: (handler) => queryRoute(settings, handler as QueryHandler<unknown, any>) as any,
    endpoint: (method: Method, path: HttpRouter.PathInput, ...rest: Array<any>) => {
      const [endpointOptions, handler] = rest.length === 1 ? [{}, rest[0]] : [rest[0], rest[1]]
      return Layer.unwrap(KeepAlive.useSync((keepAlive) =>
        Layer.mergeAll(
          HttpRouter.add(
            method,
            path,
            Endpoint.make(endpointOptions, handler, { maxBodySize: settings.maxBodySize, keepAlive: keepAlive.watch })
          ),
          Health.register(path.slice(1) || path, path)
        ))) as any
    },
    task: (path, options, handler) => Tasks.make(path, options, handler, settings),
    serve: (app, options) => serve(settings, app, options) as any
  }
}

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


/** The name of the job that runs a whole agent request for `/process/task`. */
const PROCESS_TASK = "agentapp.process"

const queryRoute = <E, R>(settings: Settings, handler: QueryHandler<E, R>) =>
  Layer.unwrap(Effect.gen(function*() {
    const lifecycle = yield* Lifecycle
    const backend = yield* Interrupt.InterruptBackend
    const store = yield* SessionStore.SessionStore
    const tasks = yield* TaskQueue.TaskQueue
    const registry = yield* Tasks.TaskRegistry
    const services = yield* Effect.context<R>()
    const readJson = HttpError.readJson(settings.maxBodySize)
    const decode = HttpError.decode(Protocol.AgentRequest, "request")
    const keepAlive = yield* KeepAlive
    const shuttingDown = HttpServerResponse.setHeader(
      HttpError.errorResponse(503, "shutting_down", "The server is shutting down"),
      "connection",
      "close"
    )
    const record = (key: Interrupt.SessionKey, claim: Interrupt.Claim) => (response: Protocol.ResponseEvent) =>
      Effect.andThen(
        settings.history
          ? store.appendHistory(key, toHistory(response.output)).pipe(
            Effect.catchCause((cause) => Effect.logWarning("could not append to the session history", cause))
          )
          : Effect.void,
        claim.finish(stateOf(response.status))
      )

    /** ids are settled before anything else, so anonymous requests never collide */
    const settleIds = (request: Protocol.AgentRequest): Protocol.AgentRequest => {
      const sessionId = request.session_id ?? crypto.randomUUID()
      return { ...request, session_id: sessionId, user_id: request.user_id ?? sessionId }
    }

    /**
     * Claims the session and gives the run's events; the claim lasts as long
     * as the current scope (the HTTP request, or the job).
     */
    const start = Effect.fnUntraced(function*(request: Protocol.AgentRequest, onDrain: (() => void) | undefined) {
      const key: Interrupt.SessionKey = { userId: request.user_id!, sessionId: request.session_id! }
      const claim = yield* Interrupt.claimWith(backend, key, settings.claim)
      const history = settings.history ? yield* store.history(key) : []
      if (settings.history) yield* store.appendHistory(key, request.input)
      const context: QueryContext = {
        request,
        responseId: request.id ?? `response_${crypto.randomUUID()}`,
        sessionId: key.sessionId,
        userId: key.userId,
        key,
        history
      }
      const outputs = Stream.suspend(() => {
        const result = handler(request, context)
        return Stream.isStream(result) ? result : Stream.unwrap(result)
      }).pipe(Stream.provideContext(services))
      const run = Runner.events(context, outputs, { cancel: claim.stopped, onEnd: record(key, claim) })
      return lifecycle.track(run, { onDrain, cancel: claim.stopped })
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
      if (lifecycle.phase() === "draining") return shuttingDown
      const request = settleIds(yield* Effect.flatMap(readJson, decode))
      const httpRequest = yield* HttpServerRequest.HttpServerRequest
      const events = yield* start(request, closeAfterResponse(httpRequest))
      if (request.stream === false) {
        return HttpServerResponse.jsonUnsafe(yield* Runner.finalResponse(events))
      }
      const watch = yield* keepAlive.watch(httpRequest)
      return Sse.response(Sse.encode(events, Sse.eventFrame, watch.touch))
    })) as Effect.Effect<HttpServerResponse.HttpServerResponse, never, HttpServerRequest.HttpServerRequest | Scope.Scope>

    /** A whole request run by a worker: its result is the final response. */
    const runInBackground: Tasks.Runner = (payload) =>
      Effect.scoped(Effect.gen(function*() {
        const request = yield* Schema.decodeUnknownEffect(Protocol.AgentRequest)(payload)
        return yield* Runner.finalResponse(yield* start(request, undefined))
      })).pipe(
        Effect.catchCause((cause) =>
          Cause.hasInterruptsOnly(cause)
            ? Effect.failCause(cause as Cause.Cause<never>)
            : Effect.fail(new TaskQueue.JobFailed({ message: TaskQueue.failureMessage(cause) }))
        )
      )

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
    const rpcHandlers = AgentRpc.AgentRpcs.toLayer({
      Process: ({ request }) =>
        Stream.unwrap(Effect.gen(function*() {
          yield* refusedWhileDraining
          const decoded = settleIds(yield* Effect.mapError(decode(request), toInvalid))
          return yield* start(decoded, undefined)
        }).pipe(
          Effect.catchTags({
            InterruptBackendError: (error) => Effect.fail(toUnavailable(error)),
            SessionStoreError: (error) => Effect.fail(toUnavailable(error))
          })
        )),
      Stop: ({ session_id, user_id }) =>
        Interrupt.stop({ userId: user_id ?? session_id, sessionId: session_id }).pipe(
          Effect.provideService(Interrupt.InterruptBackend, backend),
          Effect.as({ status: "success" as const, message: "Interrupt signal broadcasted." }),
          Effect.catchTags({
            NoActiveRun: (error) => Effect.fail(new AgentRpc.NotFound({ message: error.message })),
            InterruptBackendError: (error) => Effect.fail(toUnavailable(error))
          })
        ),
      SubmitTask: ({ request }) =>
        Effect.andThen(refusedWhileDraining, submitInBackground(request)).pipe(
          Effect.map((submitted) => ({
            ...submitted,
            status: "submitted" as const,
            queue: settings.processQueue,
            message: `Task ${submitted.task_id} submitted to queue ${settings.processQueue}`
          })),
          Effect.catchTags({
            RequestError: (error) => Effect.fail(toInvalid(error)),
            TaskQueueError: (error) => Effect.fail(toUnavailable(error))
          })
        ),
      GetTask: ({ task_id }) =>
        tasks.status(settings.processQueue, task_id).pipe(
          Effect.mapError(toUnavailable),
          Effect.flatMap(Option.match({
            onNone: () => Effect.fail(new AgentRpc.NotFound({ message: `Task ${task_id} not found` })),
            onSome: Effect.succeed
          }))
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
      RpcServer.layerHttp({ group: AgentRpc.AgentRpcs, path: settings.rpcPath, protocol: "http" }).pipe(
        Layer.provide([rpcHandlers, RpcSerialization.layerNdjson])
      ),
      Health.register("rpc", settings.rpcPath)
    )

    const processTaskPath = `${settings.processPath}/task` as HttpRouter.PathInput
    return Layer.mergeAll(
      registry.role === "worker" ? Layer.empty : Layer.mergeAll(
        HttpRouter.add("POST", settings.processPath, process),
        Health.register("process", settings.processPath),
        settings.stopPath === false ? Layer.empty : Layer.merge(
          HttpRouter.add("POST", settings.stopPath, stopRoute(settings, backend)),
          Health.register("stop", settings.stopPath)
        ),
        rpc
      ),
      Tasks.routes(processTaskPath, settings.processQueue, submitInBackground, {
        maxBodySize: settings.maxBodySize,
        name: "process_task"
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
    yield* Interrupt.stop({ userId: body.user_id ?? body.session_id, sessionId: body.session_id })
    return stopped
  }).pipe(
    Effect.provideService(Interrupt.InterruptBackend, backend),
    Effect.catchTags({
      RequestError: (error) => Effect.succeed(HttpError.toResponse(error)),
      NoActiveRun: (error) => Effect.succeed(HttpError.errorResponse(404, "not_found", error.message)),
      InterruptBackendError: (error) => Effect.succeed(HttpError.unavailable(error))
    })
  )
}

const serve = <A, E, R>(settings: Settings, app: Layer.Layer<A, E, R>, options?: ServeOptions) => {
  const info = Layer.sync(Health.AppInfo, () => ({
    name: settings.name,
    description: settings.description,
    version: settings.version,
    endpoints: new Map<string, string>(),
    checks: new Map<string, Effect.Effect<void, unknown>>()
  }))
  const registry = Layer.sync(Tasks.TaskRegistry, () => ({
    role: options?.role ?? "both",
    runners: new Map<string, Map<string, Tasks.Runner>>()
  }))
  const serveApp = Layer.effectDiscard(Effect.gen(function*() {
    const lifecycle = yield* Lifecycle
    const scope = yield* Effect.scope
    // The app's layers live in a scope of their own, closed last: after the drain and after the
    // server has stopped taking requests.
    const appScope = yield* Scope.fork(scope, "sequential")
    yield* Effect.addFinalizer(() => Scope.close(appScope, Exit.void))

    // Requests are answered from the start: while the app is built, the health routes say so
    // and the rest get 503 `starting`, rather than hanging until the routes exist.
    // (the routes also need, per request, what the app's routes require: the server's context has it)
    let routes: Effect.Effect<HttpServerResponse.HttpServerResponse, unknown, any> | undefined
    const starting = HttpServerRequest.HttpServerRequest.useSync(startingResponse(lifecycle))
    const handler = Effect.suspend(() => routes ?? starting)
    yield* HttpServer.serveEffect(
      settings.logRequests ? HttpMiddleware.logger(handler) : handler
    )
    routes = yield* HttpRouter.toHttpEffect(Layer.mergeAll(app, Health.layer)).pipe(Scope.provide(appScope)) as Effect.Effect<
      typeof routes & {},
      unknown,
      never
    >

    // Added after the server: on shutdown it runs first, draining the runs before the server closes.
    yield* Effect.addFinalizer(() => lifecycle.drain({ grace: settings.shutdownGracePeriod }))
    yield* Tasks.startWorkers({ concurrency: settings.concurrency })
    yield* lifecycle.markReady
  }))
  return HttpServer.withLogAddress(serveApp).pipe(
    Layer.provide(Layer.mergeAll(Lifecycle.layer, info, registry, KeepAlive.layer(settings.keepAlive)))
  )
}

/** The answers given while the app is still being built. */
const startingResponse = (lifecycle: Lifecycle["Service"]) => (request: HttpServerRequest.HttpServerRequest) => {
  const path = request.url.split("?")[0]
  if (path === Health.paths.liveness) return HttpServerResponse.jsonUnsafe({ status: "alive" })
  if (path === Health.paths.readiness || path === Health.paths.health) {
    return HttpServerResponse.jsonUnsafe({ status: "not_ready", reason: lifecycle.phase() }, { status: 503 })
  }
  return HttpError.errorResponse(503, "starting", "The server is starting")
}

/**
 * Runs a server layer as the main program: SIGTERM or SIGINT begins a
 * graceful shutdown, and the process exits 0 once it is done (1 when the
 * program failed, for example when the port is taken).
 *
 * @since 0.1.0
 */
export const runMain = <E>(layer: Layer.Layer<never, E, never>): void =>
  Layer.launch(layer).pipe(NodeRuntime.runMain({
    teardown: (exit, onExit) =>
      Exit.isFailure(exit) && !Cause.hasInterruptsOnly(exit.cause)
        ? Runtime.defaultTeardown(exit, onExit)
        : onExit(0)
  }))

/**
 * A piece of assistant text. See {@link Output.text}.
 *
 * @since 0.1.0
 */
export const text = Output.text

/**
 * A piece of reasoning. See {@link Output.reasoning}.
 *
 * @since 0.1.0
 */
export const reasoning = Output.reasoning

/**
 * A tool call. See {@link Output.toolCall}.
 *
 * @since 0.1.0
 */
export const toolCall = Output.toolCall

/**
 * A tool result. See {@link Output.toolResult}.
 *
 * @since 0.1.0
 */
export const toolResult = Output.toolResult

/**
 * A whole message. See {@link Output.message}.
 *
 * @since 0.1.0
 */
export const message = Output.message

/**
 * A structured part. See {@link Output.data}.
 *
 * @since 0.1.0
 */
export const data = Output.data

/**
 * Token usage. See {@link Output.usage}.
 *
 * @since 0.1.0
 */
export const usage = Output.usage

/**
 * Ends the current message. See {@link Output.endMessage}.
 *
 * @since 0.1.0
 */
export const endMessage = Output.endMessage

/**
 * A raw protocol event. See {@link Output.event}.
 *
 * @since 0.1.0
 */
export const event = Output.event

/**
 * Everything a query handler may emit. See {@link Output.AgentOutput}.
 *
 * @since 0.1.0
 */
export type AgentOutput = Output.AgentOutput
