/**
 * The SSE text of a chunk of a run's events, framed once: the run log and
 * the reply ask for the same chunk one after the other (the log first), so
 * the last chunk framed is kept for the next ask, as text and, once asked
 * for, as bytes. The frames are joined into one flat string (the socket
 * write would flatten a concatenation anyway).
 */
import type * as Protocol from "../../Protocol.ts"
import * as Sse from "../../Sse.ts"

let lastChunk: ReadonlyArray<Protocol.Event> | undefined
let lastText = ""
let lastBytes: Uint8Array | undefined

export const chunkText = (events: ReadonlyArray<Protocol.Event>): string => {
  if (events === lastChunk) return lastText
  let text: string
  if (events.length === 1) {
    text = Sse.eventFrame(events[0])
  } else {
    const frames = new Array<string>(events.length)
    for (let i = 0; i < events.length; i++) frames[i] = Sse.eventFrame(events[i])
    text = frames.join("")
  }
  lastChunk = events
  lastText = text
  lastBytes = undefined
  return text
}

/** The same frames as UTF-8 bytes (a text of 4 KiB or more gets memory of its own, off the JS heap). */
export const chunkBytes = (events: ReadonlyArray<Protocol.Event>): Uint8Array => {
  const text = chunkText(events)
  return lastBytes ??= Buffer.from(text)
}
