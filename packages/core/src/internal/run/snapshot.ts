/**
 * A run's response object so far, folded from its logged events: the
 * terminal response as it is once the run has ended, else the latest
 * response event with the messages and parts streamed until now.
 */
import type * as Protocol from "../../Protocol.ts"
import { eventOf, type Snapshot } from "../../RunLog.ts"

type Mutable<A> = { -readonly [K in keyof A]: A[K] }

export const responseSoFar = (snapshot: Snapshot): Protocol.ResponseEvent => {
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
