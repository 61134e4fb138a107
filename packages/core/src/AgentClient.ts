/**
 * The typed client of an app, for Effect services that consume an agent:
 * `process` gives a `Stream` of protocol events, and interrupting that
 * stream (`Stream.take`, a fiber interrupt, a closing scope) stops the run on
 * the server. A dropped connection does not: the run goes on
 * (`on_disconnect: "continue"` unless the request says otherwise) and
 * `process` resumes it from the last event it saw, from any replica.
 * `join` follows a run by its response id. It speaks the app's `AgentRpcs`
 * group (ndjson over HTTP).
 *
 * @example
 * ```ts
 * const program = Effect.gen(function*() {
 *   const agent = yield* AgentClient.AgentClient
 *   yield* agent.process({ input: [{ role: "user", content: [{ type: "text", text: "Hello" }] }] }).pipe(
 *     Stream.runForEach((event) => event.object === "response" ? Console.log(event.status) : Effect.void)
 *   )
 * }).pipe(Effect.provide(AgentClient.layer({ url: "http://127.0.0.1:8090" })))
 * ```
 *
 * @since 0.1.0
 */
import { Config, Context, Duration, Effect, Layer, type Redacted, Schema, Stream } from "effect"
import { FetchHttpClient, HttpClient, HttpClientRequest } from "effect/http"
import { RpcClient, RpcClientError, RpcSerialization } from "effect/rpc"
import {
  AgentRpcs,
  type CallError,
  type HealthStatus,
  type NotFound,
  type RunError,
  type Submitted,
  type TaskStatus
} from "./AgentRpc.ts"
import { resuming } from "./internal/client/resume.ts"
import { prefixedId, randomUuid } from "./internal/util/ids.ts"
import type * as Protocol from "./Protocol.ts"

/**
 * The agent could not be reached or did not answer as an agentapp server:
 * the message says which URL, and what happened (the connection refused,
 * an HTTP status, ...).
 *
 * @since 0.1.0
 */
export class ClientError extends Schema.TaggedError<ClientError>()("ClientError", {
  message: Schema.String,
  url: Schema.String,
  cause: Schema.optional(Schema.Defect())
}) {}

const isRpcClientError = (error: unknown): error is RpcClientError.RpcClientError =>
  error instanceof RpcClientError.RpcClientError

/** What an error and its causes say, outermost first: messages, codes and HTTP statuses. */
const describeCause = (cause: unknown): string => {
  const parts: Array<string> = []
  let current: unknown = cause
  for (let depth = 0; depth < 6 && typeof current === "object" && current !== null; depth++) {
    const error = current as {
      readonly _tag?: unknown
      readonly kind?: unknown
      readonly message?: unknown
      readonly code?: unknown
      readonly response?: { readonly status?: unknown }
      readonly cause?: unknown
      readonly reason?: unknown
    }
    if (typeof error.kind === "string") parts.push(error.kind)
    if (typeof error.response?.status === "number") parts.push(`HTTP status ${error.response.status}`)
    if (typeof error.message === "string" && error.message !== "" && !parts.includes(error.message)) parts.push(error.message)
    if (typeof error.code === "string") parts.push(error.code)
    current = error.reason ?? error.cause
  }
  return parts.length === 0 ? String(cause) : parts.join(": ")
}

const toClientError = (url: string) => (error: RpcClientError.RpcClientError): ClientError =>
  new ClientError({ message: `The agent at ${url} failed to answer: ${describeCause(error.reason)}`, url, cause: error })

/**
 * The client service.
 *
 * @since 0.1.0
 */
export class AgentClient extends Context.Service<AgentClient, {
  /**
   * Runs a request; the stream ends with the run's terminal response event.
   * Through a dropped connection it resumes (see {@link Options.resume}).
   */
  readonly process: (
    request: Protocol.AgentRequest
  ) => Stream.Stream<Protocol.Event, typeof RunError.Type | NotFound | ClientError>
  /**
   * Follows a run by its response id, wherever it runs: its events after
   * sequence number `after` (all by default), then live ones to its end.
   */
  readonly join: (
    responseId: string,
    after?: number | undefined
  ) => Stream.Stream<Protocol.Event, typeof CallError.Type | ClientError>
  /** A run's response object so far (status, output, usage). */
  readonly getRun: (
    responseId: string
  ) => Effect.Effect<Protocol.ResponseEvent, typeof CallError.Type | ClientError>
  /** Stops the run of a session, wherever it runs. */
  readonly stop: (
    sessionId: string,
    userId?: string | undefined
  ) => Effect.Effect<void, typeof CallError.Type | ClientError>
  /** Runs a request in the background (`/process/task`). */
  readonly submitTask: (
    request: Protocol.AgentRequest
  ) => Effect.Effect<typeof Submitted.Type, typeof RunError.Type | ClientError>
  /** The status of a background run; its result is the final response. */
  readonly getTask: (
    taskId: string
  ) => Effect.Effect<typeof TaskStatus.Type, typeof CallError.Type | ClientError>
  readonly health: Effect.Effect<typeof HealthStatus.Type, ClientError>
}>()("@agentapp/core/AgentClient") {}


/**
 * Options of {@link layer}.
 *
 * @since 0.1.0
 */
export interface Options {
  /** The app's base URL (`http://127.0.0.1:8090`). */
  readonly url: string
  /** Its RPC route. Default `/rpc`. */
  readonly path?: string | undefined
  /**
   * How `process` resumes after a dropped connection: tries in a row (reset
   * by every event received) and the delay before the first, doubled for
   * each next one. Default 5 tries from 100 ms (3.1 s in all); `false` turns
   * resuming off (and the run then ends when its connection does).
   */
  readonly resume?: false | { readonly retries?: number | undefined; readonly delay?: Duration.Input | undefined } | undefined
  /** Credentials for an app with `Auth`: sent as `Authorization: Bearer <token>` (an API key or a JWT). */
  readonly token?: string | Redacted.Redacted<string> | undefined
}

/**
 * Builds a client on the RPC protocol in context.
 *
 * @since 0.1.0
 */
export const make = (url: string, options?: Pick<Options, "resume">) =>
  Effect.gen(function*() {
    const client = yield* RpcClient.make(AgentRpcs)
    const wire = toClientError(url)
    const mapError = <A, E>(effect: Effect.Effect<A, E | RpcClientError.RpcClientError>) =>
      Effect.mapError(effect, (error) => isRpcClientError(error) ? wire(error) : error as Exclude<E, RpcClientError.RpcClientError>)
    const streamError = <E>(error: E | RpcClientError.RpcClientError) => isRpcClientError(error) ? wire(error) : error as E
    const resume = options?.resume === false ? undefined : {
      retries: options?.resume?.retries ?? 5,
      delay: Duration.fromInputUnsafe(options?.resume?.delay ?? Duration.millis(100))
    }
    const join = (responseId: string, after?: number) =>
      Stream.mapError(client.Join(after === undefined ? { response_id: responseId } : { response_id: responseId, after }), streamError)
    const stop = (sessionId: string, userId?: string) =>
      Effect.asVoid(mapError(client.Stop(userId === undefined ? { session_id: sessionId } : { session_id: sessionId, user_id: userId })))
    return AgentClient.of({
      process: (request) => {
        if (resume === undefined) return Stream.mapError(client.Process({ request }), streamError)
        // the ids are named here, so that a client that leaves before the first event can still find its run
        const sessionId = request.session_id ?? randomUuid()
        const responseId = request.id ?? prefixedId("response")
        const sent = { on_disconnect: "continue" as const, ...request, session_id: sessionId, id: responseId }
        const stopRun = Effect.ignore(Effect.timeout(stop(sessionId, request.user_id ?? undefined), Duration.seconds(5)))
        // a run seen started is stopped; one not seen yet, if the server has it (not if the session was busy with another)
        const onLeave = (seen: boolean) =>
          seen ? stopRun : Effect.ignore(Effect.flatMap(mapError(client.GetRun({ response_id: responseId })), (response) =>
            response.status === "created" || response.status === "in_progress" ? stopRun : Effect.void))
        return resuming(
          Stream.mapError(client.Process({ request: sent }), streamError),
          join,
          (error) => error instanceof ClientError,
          resume,
          request.on_disconnect === undefined && request.background !== true ? onLeave : () => Effect.void
        )
      },
      join,
      getRun: (responseId) => mapError(client.GetRun({ response_id: responseId })),
      stop,
      submitTask: (request) => mapError(client.SubmitTask({ request })),
      getTask: (taskId) => mapError(client.GetTask({ task_id: taskId })),
      health: mapError(client.Health())
    })
  })

/**
 * A client of the app at `url` (its RPC route is `path`, default `/rpc`).
 *
 * @since 0.1.0
 */
export const layer = (options: Options): Layer.Layer<AgentClient> => {
  const url = `${options.url.replace(/\/$/, "")}${options.path ?? "/rpc"}`
  const token = options.token
  // a refusal before the RPC server (401, 429, 503 while starting) fails with its status, not as an empty reply
  const http = Layer.effect(
    HttpClient.HttpClient,
    HttpClient.HttpClient.useSync((client) =>
      HttpClient.filterStatusOk(token === undefined ? client : HttpClient.mapRequest(client, HttpClientRequest.bearerToken(token)))
    )
  ).pipe(Layer.provide(FetchHttpClient.layer))
  return Layer.effect(AgentClient, make(url, options)).pipe(
    Layer.provide(RpcClient.layerProtocolHttp({ url })),
    Layer.provide([http, RpcSerialization.layerNdjson])
  )
}

/**
 * {@link layer} from configuration: a `Config` of the options, or a record
 * of `Config`s (the token redacted).
 *
 * @example
 * ```ts
 * AgentClient.layerConfig({
 *   url: Config.String("AGENT_URL"),
 *   token: Config.Redacted("AGENT_TOKEN").pipe(Config.withDefault(undefined))
 * })
 * ```
 *
 * @since 0.1.0
 */
export const layerConfig = (options: Config.Wrap<Options>): Layer.Layer<AgentClient, Config.ConfigError> =>
  Layer.unwrap(Effect.map(Config.unwrap(options), layer))
