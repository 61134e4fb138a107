/** `POST /stop`: stops the run of a session, wherever it runs. */
import { Effect, Schema } from "effect"
import type { HttpServerRequest } from "effect/http"
import { HttpServerResponse } from "effect/http"
import * as Interrupt from "../../Interrupt.ts"
import * as HttpError from "../http/httpError.ts"
import { sessionKey } from "../run/start.ts"

/** What `POST /stop` takes. */
export const StopRequest = Schema.Struct({
  session_id: Schema.String,
  user_id: Schema.optionalKey(Schema.NullOr(Schema.String))
})

const stopped = HttpServerResponse.jsonUnsafe({ status: "success", message: "Interrupt signal broadcasted." })

export const stopRoute = (
  backend: Interrupt.InterruptBackend["Service"],
  maxBodySize: number
): Effect.Effect<HttpServerResponse.HttpServerResponse, never, HttpServerRequest.HttpServerRequest> => {
  const readJson = HttpError.readJson(maxBodySize)
  const decode = HttpError.decode(StopRequest, "stop request")
  return HttpError.respondOnError(
    Effect.gen(function*() {
      const body = yield* Effect.flatMap(readJson, decode)
      yield* Interrupt.stop(yield* sessionKey(body.session_id, body.user_id))
      return stopped
    }).pipe(Effect.provideService(Interrupt.InterruptBackend, backend))
  )
}
