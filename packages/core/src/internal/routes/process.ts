/** `POST /process`: a run streamed as SSE, or its final response as JSON with `stream: false`. */
import { Effect, type Scope } from "effect"
import { HttpServerRequest, HttpServerResponse } from "effect/http"
import type { Lifecycle } from "../../Lifecycle.ts"
import * as Protocol from "../../Protocol.ts"
import * as Runner from "../../Runner.ts"
import { closeAfterResponse } from "../private.ts"
import * as HttpError from "../http/httpError.ts"
import type { KeepAlive } from "../http/keepAlive.ts"
import { sseReply } from "../reply/sse.ts"
import type { Runs } from "../run/start.ts"

export const processRoute = <E>(
  runs: Runs<E>,
  services: { readonly lifecycle: Lifecycle["Service"]; readonly keepAlive: KeepAlive["Service"] },
  maxBodySize: number
): Effect.Effect<HttpServerResponse.HttpServerResponse, never, HttpServerRequest.HttpServerRequest | Scope.Scope> => {
  const readJson = HttpError.readJson(maxBodySize)
  const decode = HttpError.decode(Protocol.AgentRequest, "request")
  return HttpError.respondOnError(Effect.gen(function*() {
    if (services.lifecycle.phase() === "draining") return HttpError.shuttingDown
    const request = runs.settleIds(yield* Effect.flatMap(readJson, decode))
    const httpRequest = yield* HttpServerRequest.HttpServerRequest
    const run = yield* runs.start(request, closeAfterResponse(httpRequest))
    if (request.stream === false) {
      return HttpServerResponse.jsonUnsafe(yield* Runner.finalResponse(runs.events(run)))
    }
    return yield* sseReply(services.keepAlive, run, httpRequest)
  }))
}
