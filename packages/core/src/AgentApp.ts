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
import { type Effect, Layer, type Scope } from "effect"
import { HttpRouter, type HttpServer, type HttpServerRequest } from "effect/http"
import type * as Endpoint from "./Endpoint.ts"
import * as ApiDocs from "./ApiDocs.ts"
import * as Health from "./Health.ts"
import { KeepAlive } from "./internal/http/keepAlive.ts"
import type { HandlerServices, QueryContext, QueryHandler } from "./internal/query.ts"
import { queryRoutes } from "./internal/queryRoutes.ts"
import { endpointRoute } from "./internal/routes/endpoint.ts"
import { serveRoutes } from "./internal/serve.ts"
import { type Options, type ServeOptions, type Settings, settingsOf } from "./internal/settings.ts"
import { make as makeTask, type TaskRegistry } from "./internal/tasks.ts"
import * as Interrupt from "./Interrupt.ts"
import type { Lifecycle } from "./Lifecycle.ts"
import type * as Output from "./Output.ts"
import type * as Protocol from "./Protocol.ts"
import * as SessionStore from "./SessionStore.ts"
import * as TaskQueue from "./TaskQueue.ts"
import type * as Tasks from "./Tasks.ts"

export { isMain, minimumNodeVersion, runMain } from "./internal/main.ts"
export type { HandlerServices, QueryContext, QueryHandler } from "./internal/query.ts"
export type { CorsOptions, Options, ServeOptions, Settings } from "./internal/settings.ts"

/**
 * The services `serve` provides to the layers it serves.
 *
 * @since 0.1.0
 */
export type ServeProvided = HttpRouter.HttpRouter | ServeServices

/**
 * The backends a query handler's routes use: interrupts, sessions and the
 * task queue (`layerMemory`, or Redis).
 *
 * @since 0.1.0
 */
export type QueryBackends = Interrupt.InterruptBackend | SessionStore.SessionStore | TaskQueue.TaskQueue

/**
 * What a served app still requires: its layers' requirements and its routes'
 * per-request requirements, less what the server and `serve` provide.
 *
 * @since 0.1.0
 */
export type ServeRequirements<R> =
  | Exclude<Exclude<Exclude<Exclude<HttpRouter.Request.Without<R>, HttpRouter.HttpRouter>, Scope.Scope>, Scope.Scope>, ServeServices>
  | Exclude<Exclude<Exclude<HttpRouter.Request.Only<"Requires", R>, HttpServerRequest.HttpServerRequest>, Scope.Scope>, ServeServices>
  | Exclude<
    Exclude<Exclude<HttpRouter.Request.Only<"GlobalRequires", R>, HttpServerRequest.HttpServerRequest>, Scope.Scope>,
    ServeServices
  >

/** The services `serve` provides besides the router. */
type ServeServices = Health.AppInfo | Lifecycle | TaskRegistry | KeepAlive | ApiDocs.Operations

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
  readonly query: <Result extends ReturnType<QueryHandler<unknown, unknown>>>(
    handler: (request: Protocol.AgentRequest, context: QueryContext) => Result
  ) => Layer.Layer<never, never, ServeProvided | QueryBackends | HandlerServices<Result>>
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
    <A, E, R, Query = {}, Body = undefined>(
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
    HttpServer.HttpServer | TaskQueue.TaskQueue | ServeRequirements<R>
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
  const endpoint = <Query, Body, A, E, R>(
    method: Method,
    path: HttpRouter.PathInput,
    ...args: [handler: Endpoint.Handler<{}, undefined, A, E, R>] | [
      options: Endpoint.Options<Query, Body>,
      handler: Endpoint.Handler<Query, Body, A, E, R>
    ]
  ): RouteLayer<never, R> =>
    Layer.unwrap(KeepAlive.useSync((keepAlive) => {
      const endpointSettings = { maxBodySize: settings.maxBodySize, keepAlive: keepAlive.watch }
      const route = args.length === 1
        ? endpointRoute({}, args[0], endpointSettings)
        : endpointRoute(args[0], args[1], endpointSettings)
      const options = args.length === 1 ? {} : args[0]
      return Layer.mergeAll(
        HttpRouter.add(method, path, route),
        Health.register(path.slice(1) || path, path),
        ApiDocs.describe(method, path, {
          summary: options.summary ?? `The ${path} endpoint`,
          tags: ["endpoints"],
          query: options.query,
          body: options.body === undefined ? undefined : { shape: options.body },
          responses: {
            "200": { description: "The handler's result as JSON, or its stream as SSE (`data: <JSON>` per item)", contentType: "application/json" },
            "400": { description: "The query string or the body does not match", contentType: "application/json", shape: { ref: "Error" } }
          }
        })
      )
    }))
  return {
    settings,
    query: <Result extends ReturnType<QueryHandler<unknown, unknown>>>(
      handler: (request: Protocol.AgentRequest, context: QueryContext) => Result
    ) => queryRoutes<HandlerServices<Result>>(settings, handler),
    endpoint,
    task: (path, options, handler) => makeTask(path, options, handler, settings),
    serve: (app, options) => serveRoutes(settings, app, options)
  }
}

/**
 * What a handler emits: `text`, `reasoning`, `toolCall`, `toolResult`,
 * `message`, `data`, `usage`, `endMessage` and raw protocol `event`s (see
 * {@link Output}).
 *
 * @since 0.1.0
 */
export { data, endMessage, event, message, reasoning, text, toolCall, toolResult, usage } from "./Output.ts"

/**
 * Everything a query handler may emit. See {@link Output.AgentOutput}.
 *
 * @since 0.1.0
 */
export type AgentOutput = Output.AgentOutput
