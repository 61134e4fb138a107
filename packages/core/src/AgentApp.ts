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
import { type Effect, Layer, type Scope, type Stream } from "effect"
import { HttpRouter, type HttpServer } from "effect/http"
import * as Endpoint from "./Endpoint.ts"
import * as Health from "./Health.ts"
import { KeepAlive } from "./internal/keepAlive.ts"
import { queryRoutes } from "./internal/queryRoutes.ts"
import { serveRoutes } from "./internal/serveRoutes.ts"
import { type Options, type Settings, settingsOf } from "./internal/settings.ts"
import * as Interrupt from "./Interrupt.ts"
import type { Lifecycle } from "./Lifecycle.ts"
import * as Output from "./Output.ts"
import type * as Protocol from "./Protocol.ts"
import type * as Runner from "./Runner.ts"
import * as SessionStore from "./SessionStore.ts"
import * as TaskQueue from "./TaskQueue.ts"
import * as Tasks from "./Tasks.ts"

export { isMain, minimumNodeVersion, runMain } from "./internal/main.ts"
export type { CorsOptions, Options, Settings } from "./internal/settings.ts"

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


/**
 * Describes an app.
 *
 * @since 0.1.0
 */
export const make = (options: Options): AgentApp => {
  const settings = settingsOf(options)
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
