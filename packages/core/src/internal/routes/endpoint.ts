/** The route of an endpoint (`AgentApp.endpoint`): its input decoded, its result sent as JSON or SSE. */
import { Cause, Effect, type Schema, type Scope, Stream } from "effect"
import { HttpServerRequest, HttpServerResponse } from "effect/http"
import type { Handler, Options } from "../../Endpoint.ts"
import * as Sse from "../../Sse.ts"
import { StreamWriter } from "../http/connection.ts"
import * as HttpError from "../http/httpError.ts"
import type { Watch } from "../http/keepAlive.ts"
import { failureOf } from "../util/failure.ts"
import { extension, provideContextCached } from "../util/provideContext.ts"

/**
 * The frame that ends a failed endpoint stream, as the original sends it. A
 * typed failure says its message and tag; a defect says a generic message
 * (its details are logged, never sent).

 */
export const streamErrorFrame = (cause: Cause.Cause<unknown>): {
  readonly error: string
  readonly error_type: string
  readonly message: string
} => {
  const failure = failureOf(cause)
  if (failure === undefined) {
    return Cause.hasDies(cause)
      ? { error: unexpected, error_type: "internal_error", message: "Error in streaming generator" }
      : { error: "interrupted", error_type: "Interrupted", message: "Error in streaming generator" }
  }
  return {
    error: failure.message ?? String(failure.error),
    error_type: failure.tag ?? failure.name ?? "Error",
    message: "Error in streaming generator"
  }
}

const unexpected = "An unexpected error occurred"

/** The last frame of a failed stream, the defect behind it logged with its cause. */
const streamFailure = (cause: Cause.Cause<unknown>) => {
  const frame = Stream.succeed(streamErrorFrame(cause))
  return Cause.hasDies(cause) && !cause.reasons.some(Cause.isFailReason)
    ? Effect.as(Effect.logError("an endpoint stream died", cause), frame)
    : Effect.succeed(frame)
}

/**
 * The JSON reply of a failed Effect endpoint: the error's `status` when it
 * carries a 4xx/5xx one, else 500; the code is the error's tag. Defects give
 * a generic message.

 */
export const failureResponse = (cause: Cause.Cause<unknown>): HttpServerResponse.HttpServerResponse => {
  const failure = failureOf(cause)
  if (failure === undefined) return HttpError.errorResponse(500, "internal_error", unexpected)
  const code = failure.tag ?? "internal_error"
  return HttpError.errorResponse(failure.status ?? 500, code, failure.message ?? code)
}

/**
 * Builds the route handler of an endpoint.

 */
export const endpointRoute = <Query, Body, A, E, R>(
  options: Options<Query, Body>,
  handler: Handler<Query, Body, A, E, R>,
  settings: {
    readonly maxBodySize: number
    /** Keeps a streamed response alive while it is quiet; given the chunk hook. */
    readonly keepAlive?: ((writer: StreamWriter | undefined) => Effect.Effect<Watch, never, Scope.Scope>) | undefined
  }
): Effect.Effect<
  HttpServerResponse.HttpServerResponse,
  never,
  R | HttpServerRequest.HttpServerRequest | HttpServerRequest.ParsedSearchParams | Scope.Scope
> => {
  const decodeQuery = options.query === undefined
    ? undefined
    : HttpError.decode(options.query as Schema.Codec<Query, unknown>, "query string")
  const decodeBody = options.body === undefined
    ? undefined
    : HttpError.decode(options.body as Schema.Codec<Body, unknown>, "request body")
  const readJson = HttpError.readJson(settings.maxBodySize)

  const input = Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    const query = decodeQuery === undefined
      ? {} as Query
      : yield* HttpServerRequest.ParsedSearchParams.use(decodeQuery)
    const body = decodeBody === undefined ? undefined as Body : yield* Effect.flatMap(readJson, decodeBody)
    return { query, body, request }
  })

  const keepAlive = settings.keepAlive
  const respond = (result: Effect.Effect<A, E, R> | Stream.Stream<A, E, R>) =>
    Stream.isStream(result)
      ? Effect.gen(function*() {
        const services = yield* Effect.context<R>()
        const watch = keepAlive === undefined
          ? undefined
          : yield* keepAlive(StreamWriter.of(yield* HttpServerRequest.HttpServerRequest))
        return Sse.response(Sse.encode(
          provideContextCached(
            Stream.catchCause(result, (cause) => Stream.unwrap(streamFailure(cause))),
            extension(services, undefined)
          ),
          Sse.dataFrame,
          // `touch` is a method of the watch: called on it, not detached
          watch === undefined ? undefined : () => watch.touch()
        ))
      })
      : Effect.matchCause(result, {
        onSuccess: (value) =>
          Effect.succeed(
            HttpServerResponse.isHttpServerResponse(value) ? value : HttpServerResponse.jsonUnsafe(value ?? null)
          ),
        onFailure: (cause) =>
          cause.reasons.some(Cause.isFailReason)
            ? Effect.succeed(failureResponse(cause))
            : Effect.as(Effect.logError("an endpoint died", cause), failureResponse(cause))
      }).pipe(Effect.flatten)

  const run = typeof handler === "function"
    ? Effect.flatMap(input, (input) => respond(handler(input)))
    : decodeQuery === undefined && decodeBody === undefined
    ? respond(handler)
    : Effect.flatMap(input, () => respond(handler))
  return HttpError.respondOnError(run)
}
