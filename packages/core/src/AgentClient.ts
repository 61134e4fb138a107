/**
 * The typed client of an app, for Effect services that consume an agent:
 * `process` gives a `Stream` of protocol events, and interrupting that
 * stream (`Stream.take`, a fiber interrupt, a closing scope) stops the run on
 * the server. It speaks the app's `AgentRpcs` group (ndjson over HTTP).
 *
 * @example
 * ```ts
 * const program = Effect.gen(function*() {
 *   const agent = yield* AgentClient
 *   yield* agent.process(request).pipe(
 *     Stream.filter((event) => event.object === "content" && event.delta),
 *     Stream.runForEach((event) => Console.log(event.text))
 *   )
 * }).pipe(Effect.provide(AgentClient.layer({ url: "http://127.0.0.1:8090" })))
 * ```
 *
 * @since 0.1.0
 */
import { Context, Effect, Layer, type Stream } from "effect"
import { FetchHttpClient } from "effect/http"
import { RpcClient, type RpcClientError, RpcSerialization } from "effect/rpc"
import {
  AgentRpcs,
  type HealthStatus,
  type InvalidRequest,
  type NotFound,
  type RunError,
  type Submitted,
  type TaskStatus,
  type Unauthorized,
  type Unavailable
} from "./AgentRpc.ts"
import type * as Protocol from "./Protocol.ts"

/**
 * What may go wrong on the wire.
 *
 * @since 0.1.0
 */
export type ClientError = RpcClientError.RpcClientError

/**
 * The client service.
 *
 * @since 0.1.0
 */
export class AgentClient extends Context.Service<AgentClient, {
  /** Runs a request; the stream ends with the run's terminal response event. */
  readonly process: (
    request: Protocol.AgentRequest
  ) => Stream.Stream<Protocol.Event, typeof RunError.Type | ClientError>
  /** Stops the run of a session, wherever it runs. */
  readonly stop: (
    sessionId: string,
    userId?: string | undefined
  ) => Effect.Effect<void, NotFound | InvalidRequest | Unauthorized | Unavailable | ClientError>
  /** Runs a request in the background (`/process/task`). */
  readonly submitTask: (
    request: Protocol.AgentRequest
  ) => Effect.Effect<typeof Submitted.Type, typeof RunError.Type | ClientError>
  /** The status of a background run; its result is the final response. */
  readonly getTask: (
    taskId: string
  ) => Effect.Effect<typeof TaskStatus.Type, NotFound | InvalidRequest | Unauthorized | Unavailable | ClientError>
  readonly health: Effect.Effect<typeof HealthStatus.Type, ClientError>
}>()("@agentapp/core/AgentClient") {
  /**
   * Builds a client on the RPC protocol in context.
   *
   * @since 0.1.0
   */
  static readonly make = Effect.gen(function*() {
    const client = yield* RpcClient.make(AgentRpcs)
    return AgentClient.of({
      process: (request) => client.Process({ request }),
      stop: (sessionId, userId) =>
        Effect.asVoid(client.Stop(userId === undefined ? { session_id: sessionId } : { session_id: sessionId, user_id: userId })),
      submitTask: (request) => client.SubmitTask({ request }),
      getTask: (taskId) => client.GetTask({ task_id: taskId }),
      health: client.Health()
    })
  })

  /**
   * A client of the app at `url` (its RPC route is `path`, default `/rpc`).
   *
   * @since 0.1.0
   */
  static readonly layer = (options: { readonly url: string; readonly path?: string | undefined }) =>
    Layer.effect(AgentClient, AgentClient.make).pipe(
      Layer.provide(RpcClient.layerProtocolHttp({ url: `${options.url.replace(/\/$/, "")}${options.path ?? "/rpc"}` })),
      Layer.provide([FetchHttpClient.layer, RpcSerialization.layerNdjson])
    )
}

