import { ByteSize, Data, Effect, Schema } from "effect"
import { HttpIncomingMessage, HttpServerRequest, HttpServerResponse } from "effect/http"
import * as SchemaIssue from "effect/SchemaIssue"

/**
 * A request refused before any work starts. It becomes an HTTP status with a
 * JSON body `{"error": {"code", "message", "details"?}}`.
 */
export class RequestError extends Data.TaggedError("RequestError")<{
  readonly status: number
  readonly code: string
  readonly message: string
  readonly details?: unknown
}> {}

/** The JSON error reply of PROTOCOL.md §5. */
export const errorResponse = (
  status: number,
  code: string,
  message: string,
  details?: unknown
): HttpServerResponse.HttpServerResponse =>
  HttpServerResponse.jsonUnsafe(
    { error: details === undefined ? { code, message } : { code, message, details } },
    { status }
  )

/** A backend the app needs (Redis) is unreachable. */
export const unavailable = (error: { readonly message: string }): HttpServerResponse.HttpServerResponse =>
  errorResponse(503, "backend_unavailable", error.message)

/**
 * The reply to a new request while the server drains; its connection closes
 * after it, so that the server can stop.
 */
export const shuttingDown: HttpServerResponse.HttpServerResponse = HttpServerResponse.setHeader(
  errorResponse(503, "shutting_down", "The server is shutting down"),
  "connection",
  "close"
)

export const toResponse = (error: RequestError): HttpServerResponse.HttpServerResponse =>
  errorResponse(error.status, error.code, error.message, error.details)

const formatIssues = SchemaIssue.makeFormatterStandardSchemaV1()

/** The schema issues of a decoding failure, as `[{path, message}]`. */
export const issues = (error: Schema.SchemaError) =>
  formatIssues(error.issue).issues.map((issue) => ({
    path: (issue.path ?? []).map((key) => typeof key === "object" ? String(key.key) : String(key)),
    message: issue.message
  }))

export const invalidRequest = (message: string, details?: unknown) =>
  new RequestError({ status: 400, code: "invalid_request", message, details })

/** Whether a body read failed on the size limit (`RequestParseError` with reason `BodyTooLarge`). */
const isBodyTooLarge = (error: { readonly reason?: unknown }): boolean =>
  typeof error.reason === "object" && error.reason !== null &&
  (error.reason as { readonly reason?: unknown }).reason === "BodyTooLarge"

/**
 * Reads the request body as JSON, refusing more than `maxBytes`: a declared
 * `content-length` over the limit is refused without reading.
 */
export const readJson = (maxBytes: number): Effect.Effect<unknown, RequestError, HttpServerRequest.HttpServerRequest> => {
  const maxSize = ByteSize.bytes(maxBytes)
  return Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    const length = request.headers["content-length"]
    if (length !== undefined && Number(length) > maxBytes) return yield* tooLarge(maxBytes)
    const text = yield* request.text.pipe(
      Effect.provideService(HttpIncomingMessage.MaxBodySize, maxSize),
      Effect.mapError((error) =>
        isBodyTooLarge(error) ? tooLarge(maxBytes) : invalidRequest("The request body could not be read")
      )
    )
    if (text.trim() === "") return yield* invalidRequest("The request body is empty; a JSON body is required")
    return yield* Effect.try({
      try: () => JSON.parse(text) as unknown,
      catch: (cause) => invalidRequest(`The request body is not valid JSON: ${(cause as Error).message}`)
    })
  })
}

const tooLarge = (maxBytes: number) =>
  new RequestError({
    status: 413,
    code: "payload_too_large",
    message: `The request body exceeds the limit of ${maxBytes} bytes`
  })

/**
 * Decodes a value with a schema, a failure being a 400 with all the schema
 * issues. A valid value is decoded once, stopping at the first issue (a third
 * faster for a request of twenty messages); only an invalid one is decoded
 * again to collect every issue for the reply.
 */
export const decode = <S extends Schema.Top & { readonly DecodingServices: never }>(
  schema: S,
  what: string
) => {
  const run = Schema.decodeUnknownEffect(schema)
  const refuse = (error: Schema.SchemaError) =>
    invalidRequest(`The ${what} does not match the expected shape`, issues(error))
  return (input: unknown): Effect.Effect<S["Type"], RequestError> =>
    Effect.catchTag(run(input), "SchemaError", () => Effect.mapError(run(input, { errors: "all" }), refuse))
}
