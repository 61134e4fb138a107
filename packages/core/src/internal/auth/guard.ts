/**
 * The server's guard: with an `Auth` provided, every request but those for
 * the open routes (health probes, and routes whose description says `open`) is authenticated, held
 * to its user's request rate, and runs with its principal. It wraps the
 * whole app rather than each route, so that a route added later (an app's
 * own, a new front door) is protected without a word.
 */
import { Duration, Effect } from "effect"
import { HttpServerRequest, HttpServerRespondable, type HttpServerResponse } from "effect/http"
import { RateLimiter } from "effect/persistence"
import * as Auth from "../../Auth.ts"
import * as HttpError from "../http/httpError.ts"

/** What a user may do per minute, and the store that counts it. */
export interface RateLimit {
  readonly requestsPerMinute: number
  readonly limiter: RateLimiter.RateLimiter
}

const pathOf = (url: string) => {
  const query = url.indexOf("?")
  return query === -1 ? url : url.slice(0, query)
}

const limited = (rate: RateLimit | undefined, principal: Auth.Principal) =>
  rate === undefined ? Effect.succeed(undefined) : rate.limiter.consume({
    key: `requests:${principal.userId}`,
    limit: rate.requestsPerMinute,
    window: Duration.minutes(1),
    algorithm: "fixed-window",
    onExceeded: "fail"
  }).pipe(
    Effect.as(undefined),
    Effect.catch((error) =>
      Effect.succeed(
        error.reason._tag === "RateLimitExceeded"
          ? HttpError.tooManyRequests(`At most ${rate.requestsPerMinute} requests a minute`, error.reason.retryAfter)
          : HttpError.errorResponse(503, "backend_unavailable", "The rate limiter is unavailable")
      )
    )
  )

/**
 * `handler` behind `auth`: an open path goes straight through; any other
 * gets 401 without valid credentials, 429 over its user's rate, else runs
 * with `Auth.CurrentPrincipal`.
 */
export const guard = (
  auth: Auth.Auth["Service"],
  rate: RateLimit | undefined,
  isOpen: (method: string, path: string) => boolean
) =>
<E, R>(
  handler: Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>
): Effect.Effect<HttpServerResponse.HttpServerResponse, E, R | HttpServerRequest.HttpServerRequest> =>
  HttpServerRequest.HttpServerRequest.use((request) => {
    if (isOpen(request.method, pathOf(request.url))) return handler
    return Effect.flatMap(
      Effect.result(auth.authenticate(request.headers)),
      (result) => {
        if (result._tag === "Failure") return HttpServerRespondable.toResponse(result.failure)
        const principal = result.success
        return Effect.flatMap(limited(rate, principal), (refused) =>
          refused !== undefined ? Effect.succeed(refused) : Effect.provideService(handler, Auth.CurrentPrincipal, principal))
      }
    )
  })
