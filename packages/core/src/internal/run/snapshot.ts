/**
 * A run's response object so far, folded from its logged events: the
 * terminal response as it is once the run has ended, else the latest
 * response event with the messages and parts streamed until now.
 */
import type * as Protocol from "../../Protocol.ts"

type Mutable<A> = { -readonly [K in keyof A]: A[K] }

/** What the fold reads of a run's log (`RunLog.Snapshot`). */
interface Logged {
  readonly info: { readonly responseId: string; readonly sessionId: string }
  readonly frames: ReadonlyArray<string>
  readonly ended: boolean
}

/** The data of an SSE frame, as the event it carries. */
export const eventOf = (frame: string): Protocol.Event =>
  JSON.parse(frame.slice(frame.indexOf("\ndata: ") + 7, frame.length - 2)) as Protocol.Event

const endingPattern = /^id: \d+\ndata: \{"sequence_number":\d+,"object":"response","status":"(?:completed|failed|canceled)"/

/** Whether a frame carries the run's terminal event (the Runner writes a response's keys in this order). */
export const isEndingFrame = (frame: string): boolean => endingPattern.test(frame)

export const responseSoFar = (snapshot: Logged): Protocol.ResponseEvent => {
  let response: Protocol.ResponseEvent | undefined
  const messages = new Map<string, Mutable<Protocol.MessageEvent>>()
  for (const frame of snapshot.frames) {
    const event = eventOf(frame)
    if (event.object === "response") {
      response = event
    } else if (event.object === "message") {
      const known = messages.get(event.id)
      messages.set(event.id, { ...event, content: event.content ?? known?.content ?? [] })
    } else {
      const message = messages.get(event.msg_id)
      if (message === undefined) continue
      const parts = (message.content ?? []).slice()
      const part = parts[event.index] as Protocol.ContentEvent & { text?: string } | undefined
      const text = (event as { text?: unknown }).text
      parts[event.index] = event.delta && part !== undefined && typeof text === "string" && typeof part.text === "string"
        ? { ...part, text: part.text + text } as Protocol.ContentEvent
        : event
      message.content = parts
    }
  }
  const base: Protocol.ResponseEvent = response ?? {
    sequence_number: 0,
    object: "response",
    status: "in_progress",
    error: null,
    id: snapshot.info.responseId,
    created_at: 0,
    completed_at: null,
    output: [],
    usage: null,
    session_id: snapshot.info.sessionId
  }
  if (snapshot.ended) return base
  return { ...base, output: [...messages.values()] }
}
