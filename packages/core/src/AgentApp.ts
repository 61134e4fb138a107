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
import { Cause, Duration, type Effect, Exit, Layer, type Scope, type Stream } from "effect"
import { HttpRouter, type HttpServer } from "effect/http"
import * as Runtime from "effect/Runtime"
import { realpathSync } from "node:fs"
import { pathToFileURL } from "node:url"
import * as Endpoint from "./Endpoint.ts"
import * as Health from "./Health.ts"
import { KeepAlive } from "./internal/keepAlive.ts"
import { queryRoutes } from "./internal/queryRoutes.ts"
import { serveRoutes } from "./internal/serveRoutes.ts"
import * as Interrupt from "./Interrupt.ts"
import type { Lifecycle } from "./Lifecycle.ts"
import * as Output from "./Output.ts"
import type * as Protocol from "./Protocol.ts"
import type * as Runner from "./Runner.ts"
import * as SessionStore from "./SessionStore.ts"
import * as TaskQueue from "./TaskQueue.ts"
import * as Tasks from "./Tasks.ts"

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
  /**
   * Cross-origin requests from browsers (CORS), on every route, streamed
   * ones included. Default off: only pages of the server's own origin may
   * call it from a browser. `true` allows any origin, without credentials;
   * an object says which origins, methods and headers, and whether
   * credentials (cookies, `Authorization`) may be sent.
   */
  readonly cors?: boolean | CorsOptions | undefined
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
 * Which cross-origin requests are allowed.
 *
 * @since 0.1.0
 */
export interface CorsOptions {
  /** The allowed origins (`https://app.example.com`), or a predicate; default any (`*`). */
  readonly origins?: ReadonlyArray<string> | ((origin: string) => boolean) | undefined
  /** Default GET, HEAD, POST, PUT, PATCH, DELETE. */
  readonly methods?: ReadonlyArray<string> | undefined
  /** Request headers allowed; default whatever the preflight asks for. */
  readonly headers?: ReadonlyArray<string> | undefined
  /** Response headers a page may read. */
  readonly exposedHeaders?: ReadonlyArray<string> | undefined
  /** Allow cookies and `Authorization`; needs explicit `origins`. Default false. */
  readonly credentials?: boolean | undefined
  /** How long a browser may cache a preflight, in seconds. Default 600. */
  readonly maxAge?: number | undefined
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
  readonly cors: CorsOptions | undefined
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
 * Effects its branches return. `Scope` is not among them: a run has a scope
 * of its own (its request's, or its job's), closed when the run ends.
 *
 * @since 0.1.0
 */
export type HandlerServices<Result> = Exclude<
  Result extends Stream.Stream<Output.AgentOutput, infer _E, infer R> ? R
    : Result extends Effect.Effect<Stream.Stream<Output.AgentOutput, infer _E1, infer R1>, infer _E2, infer R2> ? R1 | R2
    : never,
  Scope.Scope
>

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
   * path/:task_id` answers its status and result. Workers run `handler`,
   * each run in a scope of its own (its finalizers run when it ends).
   */
  readonly task: <P, I, A, E, R>(
    path: HttpRouter.PathInput,
    options: Tasks.Options<P, I>,
    handler: (payload: P) => Effect.Effect<A, E, R>
  ) => Layer.Layer<never, never, ServeProvided | TaskQueue.TaskQueue | Exclude<R, Scope.Scope>>
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

const corsOptions = (cors: Options["cors"]): CorsOptions | undefined => {
  if (cors === undefined || cors === false) return undefined
  const options = cors === true ? {} : cors
  if (options.credentials === true && options.origins === undefined) {
    throw new Error("cors: credentials need explicit origins (a browser refuses credentials with any origin, *)")
  }
  return options
}

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
    processJob: Tasks.jobOptions({ retention: options.tasks?.retention }),
    cors: corsOptions(options.cors)
  }
  return {
    settings,
    query: (handler) => queryRoutes(settings, handler as QueryHandler<unknown, any>) as any,
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
    serve: (app, options) => serveRoutes(settings, app, options) as any
  }
}

/**
 * The oldest Node.js agentapp runs on (type stripping, `import.meta.main`,
 * and what Effect 4 needs).
 *
 * @since 0.1.0
 */
export const minimumNodeVersion = "22.18.0"

const olderThan = (version: string, minimum: string): boolean => {
  const [a, b] = [version, minimum].map((v) => v.split(".").map(Number))
  for (let i = 0; i < 3; i++) if (a[i] !== b[i]) return (a[i] ?? 0) < (b[i] ?? 0)
  return false
}

/**
 * Whether the module of `meta` (`import.meta`) is the program Node was
 * started with: `import.meta.main` where Node has it, else the entry path
 * compared with the module's (so that an entry never exits silently on an
 * older Node, where `import.meta.main` is undefined).
 *
 * @example
 * ```ts
 * if (AgentApp.isMain(import.meta)) AgentApp.runMain(Main)
 * ```
 *
 * @since 0.1.0
 */
export const isMain = (meta: { readonly main?: boolean | undefined; readonly url: string }): boolean => {
  if (typeof meta.main === "boolean") return meta.main
  const entry = process.argv[1]
  if (entry === undefined) return false
  try {
    return pathToFileURL(realpathSync(entry)).href === meta.url
  } catch {
    return false
  }
}

/**
 * Runs a server layer as the main program: SIGTERM or SIGINT begins a
 * graceful shutdown, and the process exits 0 once it is done (1 when the
 * program failed, for example when the port is taken). On a Node.js older
 * than {@link minimumNodeVersion} it says so and exits 1 without starting.
 *
 * @since 0.1.0
 */
export const runMain = <E>(layer: Layer.Layer<never, E, never>): void => {
  if (olderThan(process.versions.node, minimumNodeVersion)) {
    console.error(
      `agentapp needs Node.js ${minimumNodeVersion} or newer; this is ${process.version}. ` +
        "Run it through npm (the project brings its own Node 22) or install a newer Node.js."
    )
    process.exitCode = 1
    return
  }
  Layer.launch(layer).pipe(NodeRuntime.runMain({
    teardown: (exit, onExit) =>
      Exit.isFailure(exit) && !Cause.hasInterruptsOnly(exit.cause)
        ? Runtime.defaultTeardown(exit, onExit)
        : onExit(0)
  }))
}

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
