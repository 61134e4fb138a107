/** The SSE reply of a protocol adapter: its own frames for a run's events (`/process` has reply/sse.ts). */
import { Stream } from "effect"
import type { HttpServerResponse } from "effect/http"
import * as Sse from "../../Sse.ts"

/**
 * An SSE body from a run's events: `frames` gives each event's frames, and
 * the frames of the events that are ready together leave as one buffer (one
 * socket write), as on `/process`.
 */
export const sseOf = <A>(
  events: Stream.Stream<A>,
  frames: (event: A) => ReadonlyArray<string>
): HttpServerResponse.HttpServerResponse =>
  Sse.response(
    Stream.mapArray(events, (chunk) => {
      let text = ""
      for (let i = 0; i < chunk.length; i++) for (const frame of frames(chunk[i])) text += frame
      return [Buffer.from(text)]
    })
  )
