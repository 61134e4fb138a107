/**
 * The SSE reply of a run. When the first chunk of events already ends the run
 * (a handler that never waits), it is one body with its length; otherwise the
 * events stream on, with keep-alive comments while quiet.
 */
import type * as Arr from "effect/Array"
import { Cause, Effect, type Pull, type Scope, Stream } from "effect"
import { type HttpServerRequest, HttpServerResponse } from "effect/http"
import * as Runner from "../../Runner.ts"
import * as Sse from "../../Sse.ts"
import { StreamWriter } from "../http/connection.ts"
import type { KeepAlive } from "../http/keepAlive.ts"
import { type Events, open } from "../run/eventsPull.ts"
import type { Run } from "../run/start.ts"
import { chunkBytes, chunkText } from "./chunkText.ts"


export const sseReply = Effect.fnUntraced(function*<E>(
  keepAlive: KeepAlive["Service"],
  run: Run<E>,
  httpRequest: HttpServerRequest.HttpServerRequest
): Effect.fn.Return<HttpServerResponse.HttpServerResponse, never, Scope.Scope> {
  const opened = yield* open(run.context, run.outputs, run.options)
  const pull = opened.pull
  // the first pull always gives the opening events: it never ends the pull
  const first = yield* Effect.orDie(pull)
  if (Runner.isComplete(first)) {
    return HttpServerResponse.setHeaders(HttpServerResponse.uint8Array(chunkBytes(first), { contentType: "text/event-stream" }), Sse.headers)
  }
  const writer = StreamWriter.of(httpRequest)
  const watch = yield* keepAlive.watch(writer)
  let head: Events | undefined = first
  if (writer !== undefined) {
    // on Node, the first chunk goes out with the head through the platform, and the rest of the
    // run straight to the socket from the fiber that pulls the handler: one fiber resumed per chunk
    const write = (events: Events) => {
      watch.touch()
      return writer.write(chunkText(events))
    }
    let drained = false
    const chunks = Effect.suspend((): Pull.Pull<Arr.NonEmptyReadonlyArray<Uint8Array>, never, void> => {
      if (head !== undefined) {
        const chunk = head
        head = undefined
        watch.touch()
        return Effect.succeed([chunkBytes(chunk)])
      }
      if (drained) return Cause.done()
      drained = true
      return Effect.andThen(opened.drain(write), Cause.done())
    })
    return Sse.response(Stream.fromPull(Effect.succeed(chunks)))
  }
  // elsewhere, the first chunk, then the rest of the same pull, framed in the pull itself (one
  // stream layer, where `Stream.prepend` and `Sse.encode` would add one each for the stream's life)
  const frames = Effect.map(
    Effect.suspend(() => {
      if (head === undefined) return pull
      const chunk = head
      head = undefined
      return Effect.succeed(chunk)
    }),
    (chunk): Arr.NonEmptyReadonlyArray<Uint8Array> => {
      watch.touch()
      return [chunkBytes(chunk)]
    }
  )
  return Sse.response(Stream.fromPull(Effect.succeed(frames)))
})
