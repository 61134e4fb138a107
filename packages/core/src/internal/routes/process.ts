/**
 * `POST /process`: a run streamed as SSE, or its final response as JSON with
 * `stream: false`; with `background: true` answered at once while the run
 * goes on; with `on_disconnect: "continue"` a run that outlives its client;
 * with `Last-Event-ID`, a resume of the run the body names (its `id`, else
 * its session's latest run) rather than a new one.
 */
import { Effect, Option, type Scope, Stream } from "effect"
import { HttpServerRequest, HttpServerResponse } from "effect/http"
import * as Interrupt from "../../Interrupt.ts"
import type { Lifecycle } from "../../Lifecycle.ts"
import * as Protocol from "../../Protocol.ts"
import * as Runner from "../../Runner.ts"
import * as RunLog from "../../RunLog.ts"
import { closeAfterResponse } from "../private.ts"
import * as HttpError from "../http/httpError.ts"
import type { KeepAlive } from "../http/keepAlive.ts"
import { sseReply } from "../reply/sse.ts"
import { startDetached } from "../run/detached.ts"
import { outlivesClient, type Runs } from "../run/start.ts"
import { followReply, resumeFrom } from "./runEvents.ts"

export const processRoute = <E>(
  runs: Runs<E>,
  services: {
    readonly lifecycle: Lifecycle["Service"]
    readonly keepAlive: KeepAlive["Service"]
    readonly appScope: Scope.Scope
  },
  maxBodySize: number
): Effect.Effect<HttpServerResponse.HttpServerResponse, never, HttpServerRequest.HttpServerRequest | Scope.Scope> => {
  const readJson = HttpError.readJson(maxBodySize)
  const decode = HttpError.decode(Protocol.AgentRequest, "request")
  const log = runs.log

  /** The run a resuming request names: its `id` if logged, else its session's latest. */
  const resumed = (request: Protocol.AgentRequest, logged: RunLog.RunLog["Service"]) =>
    Effect.gen(function*() {
      if (request.id != null) return request.id
      const key = Interrupt.makeSessionKey(request.user_id!, request.session_id!)
      const latest = yield* logged.latest(key)
      if (Option.isSome(latest)) return latest.value
      return yield* Effect.fail(RunLog.notFound(`of session ${request.session_id}`))
    })

  return HttpError.respondOnError(Effect.gen(function*() {
    const httpRequest = yield* HttpServerRequest.HttpServerRequest
    if (log !== undefined && httpRequest.headers["last-event-id"] !== undefined) {
      const after = yield* resumeFrom(httpRequest)
      const request = yield* runs.settle(yield* Effect.flatMap(readJson, decode))
      return yield* followReply(log, services.keepAlive, yield* resumed(request, log), after)
    }
    if (services.lifecycle.phase() === "draining") return HttpError.shuttingDown
    const request = yield* runs.settle(yield* Effect.flatMap(readJson, decode))
    if (!outlivesClient(request)) {
      const run = yield* runs.start(request, closeAfterResponse(httpRequest))
      if (request.stream === false) {
        return HttpServerResponse.jsonUnsafe(yield* Runner.finalResponse(runs.events(run)))
      }
      return yield* sseReply(services.keepAlive, run, httpRequest)
    }
    if (log === undefined && request.background !== true) {
      return yield* Effect.fail(HttpError.invalidRequest("on_disconnect \"continue\" needs the event log, which this app turned off"))
    }
    const run = yield* startDetached(runs, services.appScope, request)
    const id = run.context.responseId
    if (request.background === true) {
      return HttpServerResponse.jsonUnsafe({ id, session_id: run.context.sessionId, status: "in_progress" })
    }
    if (request.stream === false) {
      // the run's end, once its log has it
      yield* Stream.runDrain(Stream.orDie(yield* log!.follow(id, -1)))
      return HttpServerResponse.jsonUnsafe(RunLog.responseSoFar(yield* log!.read(id)))
    }
    return yield* followReply(log!, services.keepAlive, id, -1)
  }))
}
