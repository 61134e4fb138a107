/**
 * Join and resume: `GET /process/{id}/events` streams a run's logged frames
 * (after `Last-Event-ID` or `?starting_after=N`), then live ones until its
 * terminal event; `GET /process/{id}` answers its response object so far.
 */
import { Effect, Layer, Stream } from "effect"
import { HttpRouter, HttpServerRequest, HttpServerResponse } from "effect/http"
import type * as RunLog from "../../RunLog.ts"
import * as Sse from "../../Sse.ts"
import { StreamWriter } from "../http/connection.ts"
import * as HttpError from "../http/httpError.ts"
import type { KeepAlive } from "../http/keepAlive.ts"
import { responseSoFar } from "../run/snapshot.ts"
import { callerId } from "../auth/owner.ts"

const sequencePattern = /^(?:-1|0|[1-9][0-9]{0,14})$/

/**
 * The sequence number after which a client resumes: `Last-Event-ID`, else
 * `starting_after`, else -1 (from the start); a value that is not one is 400.
 */
export const resumeFrom = (request: HttpServerRequest.HttpServerRequest): Effect.Effect<number, HttpError.RequestError> => {
  const header = request.headers["last-event-id"]
  const query = new URLSearchParams(request.url.slice(request.url.indexOf("?") + 1 || request.url.length))
  const value = header ?? query.get("starting_after") ?? undefined
  if (value === undefined) return Effect.succeed(-1)
  const text = value.trim()
  if (!sequencePattern.test(text)) {
    return Effect.fail(HttpError.invalidRequest(
      `${header === undefined ? "starting_after" : "Last-Event-ID"} must be a sequence number (an integer from -1), not ${JSON.stringify(value.slice(0, 32))}`
    ))
  }
  return Effect.succeed(Number(text))
}

/** The SSE reply that follows a run's log from `after`, with keep-alive comments while it is quiet. */
export const followReply = Effect.fnUntraced(function*(
  log: RunLog.RunLog["Service"],
  keepAlive: KeepAlive["Service"],
  responseId: string,
  after: number
) {
  const frames = yield* log.follow(responseId, after, { owner: yield* callerId })
  const watch = yield* keepAlive.watch(StreamWriter.of(yield* HttpServerRequest.HttpServerRequest))
  const body = Stream.map(Stream.orDie(frames), (text) => {
    watch.touch()
    return Buffer.from(text) as Uint8Array
  })
  return Sse.response(body)
})

export const runEventsRoutes = (
  processPath: string,
  log: RunLog.RunLog["Service"],
  keepAlive: KeepAlive["Service"]
) => {
  const idOf = Effect.map(HttpRouter.params, (params) => params.response_id ?? "")
  const events = HttpError.respondOnError(Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    const after = yield* resumeFrom(request)
    return yield* followReply(log, keepAlive, yield* idOf, after)
  }))
  const read = HttpError.respondOnError(Effect.gen(function*() {
    const snapshot = yield* log.read(yield* idOf, { owner: yield* callerId })
    return HttpServerResponse.jsonUnsafe(responseSoFar(snapshot))
  }))
  return Layer.mergeAll(
    HttpRouter.add("GET", `${processPath}/:response_id/events` as HttpRouter.PathInput, events),
    HttpRouter.add("GET", `${processPath}/:response_id` as HttpRouter.PathInput, read)
  )
}
