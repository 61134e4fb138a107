/**
 * Server-Sent Events framing for Streams. Each event is encoded to JSON once;
 * the frames of one chunk go out as one buffer, so frames produced in the same
 * tick reach the socket in one write, and a reply that is complete at once
 * goes out as one body with its length.
 *
 * @since 0.1.0
 */
import { Stream } from "effect"
import { HttpServerResponse } from "effect/http"
import type * as Protocol from "./Protocol.ts"
import { TextDeltaEvent } from "./internal/run/runState.ts"

/**
 * The headers of every SSE response: no caching, and no proxy buffering.
 *
 * @since 0.1.0
 */
export const headers: Readonly<Record<string, string>> = {
  "cache-control": "no-cache",
  "x-accel-buffering": "no"
}

/**
 * The frame of one protocol event: its `sequence_number` as the `id:` line,
 * then the compact JSON.
 *
 * @since 0.1.0
 */
export const eventFrame = (event: Protocol.Event): string =>
  event instanceof TextDeltaEvent
    // the same bytes as JSON.stringify: the keys of a TextDeltaEvent are fixed and in this order
    ? `id: ${event.sequence_number}\ndata: {"sequence_number":${event.sequence_number},"object":"content",` +
      `"status":"in_progress","error":null,"type":"text","index":${event.index},"delta":true,` +
      `"msg_id":${JSON.stringify(event.msg_id)},"text":${JSON.stringify(event.text)}}\n\n`
    : `id: ${event.sequence_number}\ndata: ${JSON.stringify(event)}\n\n`

/**
 * The frame of one endpoint item: `data:` with its JSON, a string item as a
 * JSON string.
 *
 * @since 0.1.0
 */
export const dataFrame = (item: unknown): string => `data: ${JSON.stringify(item) ?? "null"}\n\n`

/**
 * The frames of a chunk of items as one string.
 *
 * @since 0.1.0
 */
export const chunkText = <A>(chunk: ReadonlyArray<A>, frame: (item: A) => string): string => {
  if (chunk.length === 1) return frame(chunk[0])
  let text = ""
  for (let i = 0; i < chunk.length; i++) text += frame(chunk[i])
  return text
}

/**
 * Frames a stream as SSE bytes, a chunk of items becoming one buffer (one
 * socket write). `onChunk` runs once per chunk (the keep-alive uses it to
 * know the stream is active).
 *
 * @since 0.1.0
 */
export const encode = <A, E, R>(
  self: Stream.Stream<A, E, R>,
  frame: (item: A) => string,
  onChunk?: () => void
): Stream.Stream<Uint8Array, E, R> =>
  Stream.mapArray(self, (chunk) => {
    onChunk?.()
    return [Buffer.from(chunkText(chunk, frame))]
  })

/**
 * An SSE response whose items are all known: one body with its length,
 * written at once (no chunked encoding, no stream to run).
 *
 * @since 0.1.0
 */
export const whole = <A>(items: ReadonlyArray<A>, frame: (item: A) => string): HttpServerResponse.HttpServerResponse => {
  let text = ""
  for (let i = 0; i < items.length; i++) text += frame(items[i])
  // the headers are set once the body has given the content type and length (see `streamHeaders`)
  return HttpServerResponse.setHeaders(HttpServerResponse.text(text, { contentType: "text/event-stream" }), headers)
}

/** The headers of a streamed response, its content type among them (one header object shape for every response). */
const streamHeaders: Readonly<Record<string, string>> = { ...headers, "content-type": "text/event-stream" }

/**
 * An SSE response for a byte stream already framed by {@link encode}.
 *
 * @since 0.1.0
 */
export const response = <E>(body: Stream.Stream<Uint8Array, E>): HttpServerResponse.HttpServerResponse =>
  HttpServerResponse.stream(body, { headers: streamHeaders })
