/**
 * The only code that leans on undocumented internals of Effect or Node, each
 * kept because it pays (figures in bench/RESULTS.md, "Private internals").
 */
import * as NodeHttpServerRequest from "@effect/platform-node/NodeHttpServerRequest"
import { Deferred, Effect, Scope } from "effect"
import type { HttpServerRequest } from "effect/http"

/**
 * Calls `f` once the Deferred is completed (at once if it already is), until
 * the scope closes (`f` must be a function of its own), with no fiber waiting:
 * `f` joins the Deferred's `resumes`, which completion calls synchronously.
 * Why: an open stream waits for its stop signal all its life, and a fiber
 * parked on `Deferred.await` costs a tenth of a stream's heap.
 */
export const onDone = <A, E>(deferred: Deferred.Deferred<A, E>, f: () => void, scope: Scope.Scope): Effect.Effect<void> =>
  Effect.suspend(() => {
    if (Deferred.isDoneUnsafe(deferred)) return Effect.sync(f)
    // the finalizer first, so that no interruption falls between the two; it is harmless if nothing was added
    return Effect.andThen(
      Scope.addFinalizerExit(scope, () => {
        const index = deferred.resumes?.indexOf(f) ?? -1
        if (index >= 0) deferred.resumes!.splice(index, 1)
        return Effect.void
      }),
      // `[f]`, not a push onto `[]`, which V8 gives room for 17
      Effect.sync(() => {
        if (deferred.resumes === undefined) deferred.resumes = [f]
        else deferred.resumes.push(f)
      })
    )
  })

/**
 * A function that makes the connection of this request close once its
 * response ends, instead of staying open for keep-alive. Why: shutdown uses
 * it on the streams in flight, so that the server can close as soon as they
 * end, and Node has no public way once the head is out. A no-op on servers
 * that are not Node HTTP/1.
 */
export const closeAfterResponse = (request: HttpServerRequest.HttpServerRequest): () => void => () => {
  const response = NodeHttpServerRequest.toServerResponse(request) as Partial<NodeResponseInternals> | undefined
  if (response === undefined || typeof response.shouldKeepAlive !== "boolean") return
  response.shouldKeepAlive = false
  // Once the headers are out, Node reads `_last` (not `shouldKeepAlive`) when the response finishes.
  if (response.headersSent) response._last = true
}

/** Node's own fields of a response: `_last` is private to Node. */
interface NodeResponseInternals {
  shouldKeepAlive: boolean
  headersSent: boolean
  _last: boolean
}
