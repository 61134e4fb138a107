/**
 * What `AgentApp.endpoint` takes: a route whose handler returns an Effect
 * (sent as JSON) or a Stream (sent as SSE, ending with an error frame if it
 * fails). Parameters come from typed query parameters (a repeated key gives
 * an array), a JSON body decoded with a Schema, or the raw request.
 *
 * A failed Effect answers JSON `{"error": {"code", "message"}}` with the
 * error's `status` when it carries a 4xx/5xx one (else 500), its tag as the
 * code; a failed Stream ends with `data: {"error", "error_type", "message"}`.
 * A defect shows a generic message; its details are logged, never sent.
 *
 * @since 0.1.0
 */
import type { Effect, Schema, Stream } from "effect"
import type { HttpServerRequest } from "effect/http"

/**
 * What a parameterised handler receives.
 *
 * @since 0.1.0
 */
export interface Input<Query, Body> {
  /** The decoded query parameters (`{}` without a `query` schema). */
  readonly query: Query
  /** The decoded JSON body (`undefined` without a `body` schema). */
  readonly body: Body
  /** The raw request: headers, URL, remote address, … */
  readonly request: HttpServerRequest.HttpServerRequest
}

/**
 * Where parameters come from.
 *
 * @since 0.1.0
 */
export interface Options<Query, Body> {
  /**
   * Decodes the query string, e.g. `Schema.Struct({ n: Schema.NumberFromString })`; a key given
   * more than once arrives as an array (`Schema.Array(Schema.String)` takes `?tag=a&tag=b`).
   */
  readonly query?: Schema.Codec<Query, any> | undefined
  /** Decodes the JSON body, e.g. `Protocol.AgentRequest` or `Schema.Array(Item)`. */
  readonly body?: Schema.Codec<Body, any> | undefined
  /** What the endpoint does, in a line, for `/openapi.json` and `/docs`. */
  readonly summary?: string | undefined
}

/**
 * An endpoint handler: an Effect or a Stream, or a function of the decoded
 * input that gives one.
 *
 * @since 0.1.0
 */
export type Handler<Query, Body, A, E, R> =
  | Effect.Effect<A, E, R>
  | Stream.Stream<A, E, R>
  | ((input: Input<Query, Body>) => Effect.Effect<A, E, R> | Stream.Stream<A, E, R>)
