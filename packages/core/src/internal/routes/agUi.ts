/**
 * AG-UI at `POST /ag-ui` (by default), over the same runs as `/process`: a
 * `RunAgentInput` in, AG-UI events out as SSE. The thread is the session (its
 * earlier turns are the session's history, so only the input's newest
 * messages, after the last assistant or tool message, are the turn's input);
 * an aborted request stops the run.
 */
import { Effect, Layer, Schema } from "effect"
import { HttpRouter, HttpServerRequest, HttpServerResponse } from "effect/http"
import { register } from "../../Health.ts"
import type * as Protocol from "../../Protocol.ts"
import * as Sse from "../../Sse.ts"
import * as HttpError from "../http/httpError.ts"
import { closeAfterResponse } from "../private.ts"
import type { Runs } from "../run/start.ts"
import type { Settings } from "../settings.ts"
import { sseOf } from "../reply/frames.ts"

const ContentPart = Schema.Struct({ type: Schema.String, text: Schema.optionalKey(Schema.String) })

/** What is read of a `RunAgentInput` (the rest, tools and state among it, is ignored). */
/** What an AG-UI client sends. */
export const RunAgentInput = Schema.Struct({
  threadId: Schema.String,
  runId: Schema.String,
  messages: Schema.Array(Schema.Struct({
    role: Schema.String,
    content: Schema.optionalKey(Schema.NullOr(Schema.Union([Schema.String, Schema.Array(ContentPart)])))
  }))
})

type AgUiEvent = { readonly type: string } & Record<string, unknown>

const frame = (event: AgUiEvent) => `data: ${JSON.stringify(event)}\n\n`

/** A refusal in AG-UI's own shape: one `RUN_ERROR` frame as the whole SSE body, with the refusal's status. */
const runError = (status: number, message: string, code: string) =>
  HttpServerResponse.setStatus(
    Sse.whole([{ type: "RUN_ERROR", message: HttpError.capText(message, HttpError.maxMessageLength), code }], frame),
    status
  )

const refusal = (error: unknown) => {
  const { code, message, status } = HttpError.refusalOf(error)
  return runError(status, message, code)
}

const textOf = (content: typeof RunAgentInput.Type["messages"][number]["content"]): string =>
  typeof content === "string" ? content : (content ?? []).map((part) => part.text ?? "").join("")

/** The turn's input: the messages after the last assistant or tool message (the thread keeps the rest). */
const turnOf = (messages: typeof RunAgentInput.Type["messages"]): Array<Protocol.Message> => {
  let start = messages.length
  while (start > 0 && (messages[start - 1].role === "user" || messages[start - 1].role === "system" || messages[start - 1].role === "developer")) {
    start--
  }
  return messages.slice(start).map((message) => ({
    type: "message",
    role: message.role === "user" ? "user" : "system",
    content: [{ type: "text", text: textOf(message.content) }]
  }))
}

/** A mapper for one run: each protocol event in, the AG-UI events it makes out. */
const makeAgUiEvents = (threadId: string, runId: string) => {
  const kinds = new Map<string, "text" | "reasoning">()
  return (event: Protocol.Event): ReadonlyArray<AgUiEvent> => {
    if (event.object === "response") {
      if (event.status === "created") return [{ type: "RUN_STARTED", threadId, runId }]
      if (event.status === "in_progress") return []
      if (event.status === "failed") {
        return [{ type: "RUN_ERROR", message: event.error?.message ?? "The agent failed", code: event.error?.code ?? "error" }]
      }
      return [{
        type: "RUN_FINISHED",
        threadId,
        runId,
        ...(event.status === "canceled" ? { outcome: { type: "cancelled" } } : {})
      }]
    }
    if (event.object === "message") {
      const messageId = event.id
      if (event.status === "in_progress") {
        if (event.type === "message" && event.role === "assistant") {
          kinds.set(messageId, "text")
          return [{ type: "TEXT_MESSAGE_START", messageId, role: "assistant" }]
        }
        if (event.type === "reasoning") {
          kinds.set(messageId, "reasoning")
          return [{ type: "REASONING_START", messageId }, { type: "REASONING_MESSAGE_START", messageId, role: "reasoning" }]
        }
        return []
      }
      const kind = kinds.get(messageId)
      kinds.delete(messageId)
      if (kind === "text") return [{ type: "TEXT_MESSAGE_END", messageId }]
      if (kind === "reasoning") return [{ type: "REASONING_MESSAGE_END", messageId }, { type: "REASONING_END", messageId }]
      const part = (event.content ?? []).find((part) => part.type === "data")
      const data = part?.type === "data" ? part.data : {}
      const toolCallId = String(data.call_id ?? "")
      if (event.type === "plugin_call" || event.type === "function_call") {
        const args = typeof data.arguments === "string" ? data.arguments : JSON.stringify(data.arguments ?? {})
        return [
          { type: "TOOL_CALL_START", toolCallId, toolCallName: String(data.name ?? ""), parentMessageId: messageId },
          { type: "TOOL_CALL_ARGS", toolCallId, delta: args },
          { type: "TOOL_CALL_END", toolCallId }
        ]
      }
      if (event.type === "plugin_call_output" || event.type === "function_call_output") {
        const content = typeof data.output === "string" ? data.output : JSON.stringify(data.output ?? null)
        return [{ type: "TOOL_CALL_RESULT", messageId, toolCallId, content, role: "tool" }]
      }
      return []
    }
    if (event.type !== "text" || event.delta !== true || event.text === "") return []
    const kind = kinds.get(event.msg_id)
    if (kind === "text") return [{ type: "TEXT_MESSAGE_CONTENT", messageId: event.msg_id, delta: event.text }]
    if (kind === "reasoning") return [{ type: "REASONING_MESSAGE_CONTENT", messageId: event.msg_id, delta: event.text }]
    return []
  }
}

/** The route. */
export const agUiRoute = <E>(path: HttpRouter.PathInput, runs: Runs<E>, settings: Settings) => {
  const readJson = HttpError.readJson(settings.maxBodySize)
  const decode = HttpError.decode(RunAgentInput, "RunAgentInput")
  const route = Effect.catch(
    Effect.gen(function*() {
      const input = yield* Effect.flatMap(readJson, decode)
      const turn = turnOf(input.messages)
      if (turn.length === 0) return runError(400, "The input ends with no user message to answer", "invalid_request")
      const request = yield* runs.settle({ input: turn, session_id: input.threadId, user_id: null })
      const httpRequest = yield* HttpServerRequest.HttpServerRequest
      const run = yield* runs.start(request, closeAfterResponse(httpRequest))
      const toAgUi = makeAgUiEvents(input.threadId, input.runId)
      return sseOf(runs.events(run), (event) => toAgUi(event).map(frame))
    }),
    (error) => Effect.succeed(refusal(error))
  )
  return Layer.merge(HttpRouter.add("POST", path, route), register("ag_ui", path))
}
