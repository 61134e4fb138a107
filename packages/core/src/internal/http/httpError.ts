import { ByteSize, Data, Duration, Effect, Schema } from "effect"
import { HttpIncomingMessage, HttpServerRequest, HttpServerRespondable, HttpServerResponse } from "effect/http"
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
}> implements HttpServerRespondable.Respondable {
  [HttpServerRespondable.symbol]() {
    return Effect.succeed(errorResponse(this.status, this.code, this.message, this.details))
  }
}

/**
 * A route's failures that render themselves (`HttpServerRespondable`: a bad
 * request, a busy session, a backend away) become their HTTP answers; the
 * route's own code never maps errors to statuses.
 */
export const respondOnError = <A, E, R>(
  effect: Effect.Effect<A, E, R>
): Effect.Effect<A | HttpServerResponse.HttpServerResponse, Exclude<E, HttpServerRespondable.Respondable>, R> =>
  Effect.catch(effect, (error) =>
    HttpServerRespondable.isRespondable(error)
      ? HttpServerRespondable.toResponse(error)
      : Effect.fail(error as Exclude<E, HttpServerRespondable.Respondable>))

/** The JSON error reply of PROTOCOL.md §5. Its message is capped, so that no reply echoes a large input. */
export const errorResponse = (
  status: number,
  code: string,
  message: string,
  details?: unknown
): HttpServerResponse.HttpServerResponse => {
  const capped = capText(message, maxMessageLength)
  return HttpServerResponse.jsonUnsafe(
    { error: details === undefined ? { code, message: capped } : { code, message: capped, details } },
    { status }
  )
}

/** 429 `rate_limited` with `Retry-After` in whole seconds (at least 1). */
export const tooManyRequests = (message: string, retryAfter: Duration.Duration): HttpServerResponse.HttpServerResponse =>
  HttpServerResponse.setHeader(
    errorResponse(429, "rate_limited", message),
    "retry-after",
    String(Math.max(1, Math.ceil(Duration.toSeconds(retryAfter))))
  )

/** The longest error message sent; a longer one (an echoed id, say) is cut with an ellipsis. */
export const maxMessageLength = 512

/** `text` cut to `max` characters, an ellipsis marking the cut. */
export const capText = (text: string, max: number): string =>
  text.length <= max ? text : `${text.slice(0, max - 1)}…`

/** The answer of a backend the app needs (Redis) being unreachable: what its errors render. */
export const unavailable = (error: { readonly message: string }): Effect.Effect<HttpServerResponse.HttpServerResponse> =>
  Effect.succeed(errorResponse(503, "backend_unavailable", error.message))

/**
 * The reply to a new request while the server drains; its connection closes
 * after it, so that the server can stop.
 */
export const shuttingDown: HttpServerResponse.HttpServerResponse = HttpServerResponse.setHeader(
  errorResponse(503, "shutting_down", "The server is shutting down"),
  "connection",
  "close"
)

const formatIssues = SchemaIssue.makeFormatterStandardSchemaV1()

/** The most schema issues a reply lists. */
export const maxIssues = 10

/** The schema issues of a decoding failure, as `[{path, message}]`, at most `max` of them. */
export const issues = (error: Schema.SchemaError, max = maxIssues) =>
  formatIssues(error.issue).issues.slice(0, max).map((issue) => ({
    path: (issue.path ?? []).map((key) => capText(typeof key === "object" ? String(key.key) : String(key), 64)),
    message: capText(issue.message, 256)
  }))

export const invalidRequest = (message: string, details?: unknown) =>
  new RequestError({ status: 400, code: "invalid_request", message, details })

/** Whether a body read failed on the size limit (`RequestParseError` with reason `BodyTooLarge`). */
const isBodyTooLarge = (error: { readonly reason?: unknown }): boolean =>
  typeof error.reason === "object" && error.reason !== null &&
  (error.reason as { readonly reason?: unknown }).reason === "BodyTooLarge"

/**
 * The deepest nesting of arrays and objects a JSON body may have. Deeper
 * bodies are refused before they are parsed: a stored value that deep
 * would overflow the stack of whatever serializes it later.
 */
export const maxJsonDepth = 64

/** Whether the JSON text nests arrays and objects deeper than `max` (strings are skipped). */
export const nestsDeeperThan = (text: string, max: number): boolean => {
  // a text shorter than twice the limit cannot open that many brackets
  if (text.length <= max * 2) return false
  let depth = 0
  let inString = false
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (inString) {
      if (c === 92) i++ // a backslash escapes the next character
      else if (c === 34) inString = false
    } else if (c === 34) inString = true
    else if (c === 91 || c === 123) {
      if (++depth > max) return true
    } else if (c === 93 || c === 125) depth--
  }
  return false
}

/** The media type of a content type, lower-cased, without its parameters. */
const mediaType = (contentType: string): string => {
  const semicolon = contentType.indexOf(";")
  return (semicolon === -1 ? contentType : contentType.slice(0, semicolon)).trim().toLowerCase()
}

/** Whether a content type is JSON: `application/json` or a `+json` type, with or without parameters. */
export const isJsonType = (contentType: string): boolean => {
  const type = mediaType(contentType)
  return type === "application/json" || (type.startsWith("application/") && type.endsWith("+json"))
}

/** Whether a content type is JSON or newline-delimited JSON (what `effect/rpc` clients send). */
export const isJsonOrNdjsonType = (contentType: string): boolean => {
  const type = mediaType(contentType)
  return isJsonType(type) || type === "application/x-ndjson" || type === "application/ndjson"
}

const unsupported = (contentType: string | undefined) =>
  new RequestError({
    status: 415,
    code: "unsupported_media_type",
    message: contentType === undefined
      ? "The request has no Content-Type; send the JSON body with Content-Type: application/json"
      : `Content-Type ${capText(contentType, 64)} is not accepted; send the JSON body with Content-Type: application/json`
  })

/**
 * Reads the request body as text: only with a content type `accept` takes
 * (415 otherwise, which also turns away the cross-site form posts a browser
 * sends without asking), refusing more than `maxBytes` (a declared
 * `content-length` over the limit without reading) and bodies nested deeper
 * than {@link maxJsonDepth}.
 */
export const readText = (
  maxBytes: number,
  accept: (contentType: string) => boolean
): Effect.Effect<string, RequestError, HttpServerRequest.HttpServerRequest> => {
  const maxSize = ByteSize.bytes(maxBytes)
  return Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    const contentType = request.headers["content-type"]
    if (contentType === undefined || !accept(contentType)) return yield* unsupported(contentType)
    const length = request.headers["content-length"]
    if (length !== undefined && Number(length) > maxBytes) return yield* tooLarge(maxBytes)
    const text = yield* request.text.pipe(
      Effect.provideService(HttpIncomingMessage.MaxBodySize, maxSize),
      Effect.mapError((error) =>
        isBodyTooLarge(error) ? tooLarge(maxBytes) : invalidRequest("The request body could not be read")
      )
    )
    if (text.trim() === "") return yield* invalidRequest("The request body is empty; a JSON body is required")
    if (nestsDeeperThan(text, maxJsonDepth)) {
      return yield* invalidRequest(`The request body nests arrays and objects deeper than ${maxJsonDepth} levels`)
    }
    return text
  })
}

/** Parses JSON text, a failure being a 400 that says why. */
export const parseJson = (text: string): Effect.Effect<unknown, RequestError> =>
  Effect.try({
    try: () => JSON.parse(text) as unknown,
    catch: (cause) => invalidRequest(`The request body is not valid JSON: ${capText((cause as Error).message, 200)}`)
  })

/**
 * Reads the request body as JSON, with {@link readText}'s checks: a JSON
 * content type, the size limit and the depth limit.
 */
export const readJson = (maxBytes: number): Effect.Effect<unknown, RequestError, HttpServerRequest.HttpServerRequest> =>
  Effect.flatMap(readText(maxBytes, isJsonType), parseJson)

const tooLarge = (maxBytes: number) =>
  new RequestError({
    status: 413,
    code: "payload_too_large",
    message: `The request body exceeds the limit of ${maxBytes} bytes`
  })

/**
 * Whether a value has at most `max` arrays, objects and values in all,
 * counted until the count passes `max` (so a large value costs little).
 */
const smallerThan = (value: unknown, max: number): boolean => {
  const pending: Array<unknown> = [value]
  let count = 0
  while (pending.length > 0) {
    const next = pending.pop()
    if (++count > max) return false
    if (typeof next === "object" && next !== null) {
      for (const child of Array.isArray(next) ? next : Object.values(next)) pending.push(child)
      if (pending.length > max) return false
    }
  }
  return true
}

/** The largest value (in values counted) whose every issue is collected; a larger one reports its first. */
const maxValuesForAllIssues = 2_000

/**
 * Decodes a value with a schema, a failure being a 400 with its schema
 * issues (at most {@link maxIssues}). A valid value is decoded once,
 * stopping at the first issue; an invalid one is decoded again to collect
 * its issues only when it is small, so that a large bad body costs no more
 * than a valid one.
 */
export const decode = <S extends Schema.Top & { readonly DecodingServices: never }>(
  schema: S,
  what: string
) => {
  const run = Schema.decodeUnknownEffect(schema)
  const shape = `The ${what} does not match the expected shape`
  const refuseAll = (error: Schema.SchemaError) => {
    const all = formatIssues(error.issue).issues.length
    return invalidRequest(
      all > maxIssues ? `${shape}: ${all} issues, the first ${maxIssues} in details` : shape,
      issues(error)
    )
  }
  const refuseFirst = (error: Schema.SchemaError) =>
    invalidRequest(`${shape}: the first issue is in details (a large ${what} is checked up to its first issue)`, issues(error))
  return (input: unknown): Effect.Effect<S["Type"], RequestError> =>
    Effect.catchTag(run(input), "SchemaError", (error) =>
      smallerThan(input, maxValuesForAllIssues)
        ? Effect.mapError(run(input, { errors: "all" }), refuseAll)
        : Effect.fail(refuseFirst(error)))
}

/**
 * What a refusal of a route is, for the protocol adapters that answer in
 * their own error shape: its status, message and code (the same the JSON
 * error replies give), for the errors routes fail with; 500 for the rest.
 */
export const refusalOf = (error: unknown): { readonly status: number; readonly message: string; readonly code: string } => {
  const tagged = error as { readonly _tag?: string; readonly message?: string; readonly status?: number; readonly code?: string }
  const message = tagged.message ?? "The request was refused"
  switch (tagged._tag) {
    case "RequestError":
      return { status: tagged.status ?? 400, message, code: tagged.code ?? "invalid_request" }
    case "SessionBusy":
      return { status: 409, message, code: "session_busy" }
    case "DuplicateRun":
      return { status: 409, message, code: "conflict" }
    case "NoActiveRun":
      return { status: 404, message, code: "not_found" }
    case "Forbidden":
      return { status: 403, message, code: "forbidden" }
    case "TooManyRuns":
      return { status: 429, message, code: "rate_limited" }
    case "InterruptBackendError":
    case "SessionStoreError":
    case "TaskQueueError":
    case "TaskStoreError":
    case "RunLogError":
      return { status: 503, message, code: "backend_unavailable" }
    default:
      return { status: 500, message: "An unexpected error occurred", code: "internal_error" }
  }
}
