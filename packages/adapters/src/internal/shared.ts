/** What every adapter needs: reading protocol messages, and the abort signal of a run. */
import type { Protocol } from "@agentapp/core"
import { Effect, Stream } from "effect"

/** The message of any error value. */
export const messageOf = (error: unknown): string =>
  error instanceof Error ? error.message : typeof error === "string" ? error : JSON.stringify(error) ?? String(error)

/** JSON text parsed, or the value as it is when it is not JSON text. */
export const parseJson = (text: unknown): unknown => {
  if (typeof text !== "string") return text ?? null
  try {
    return JSON.parse(text)
  } catch {
    return text
  }
}

/** The text parts of a message, joined. */
export const textOf = (message: Protocol.Message): string =>
  (message.content ?? []).flatMap((part) => part.type === "text" ? [part.text] : []).join("")

/** The protocol's kinds of tool messages. */
export const isToolCall = (type: string): boolean => type === "plugin_call" || type === "function_call" || type === "mcp_call"
export const isToolOutput = (type: string): boolean =>
  type === "plugin_call_output" || type === "function_call_output" || type === "mcp_call_output"

/** The call or the result a tool message carries (`{call_id, name, arguments | output}`), arguments and output parsed. */
export const toolData = (message: Protocol.Message) => {
  const part = (message.content ?? []).find((part) => part.type === "data")
  const data = part?.type === "data" ? part.data : {}
  return {
    callId: String(data.call_id ?? ""),
    name: String(data.name ?? ""),
    arguments: parseJson(data.arguments ?? {}),
    output: parseJson(data.output)
  }
}

/**
 * A stream given an `AbortSignal` that is aborted when the stream's scope
 * closes before the stream ended by itself: a stop, a client that left, a
 * failure (the scope's own exit says nothing of that: a stopped run's request
 * succeeds).
 */
export const withAbortSignal = <A, E, R>(use: (signal: AbortSignal) => Stream.Stream<A, E, R>): Stream.Stream<A, E, R> =>
  Stream.unwrap(Effect.gen(function*() {
    let ended = false
    const controller = yield* Effect.acquireRelease(
      Effect.sync(() => new AbortController()),
      (controller) => ended ? Effect.void : Effect.sync(() => controller.abort())
    )
    return Stream.onEnd(use(controller.signal), Effect.sync(() => (ended = true)))
  }))
