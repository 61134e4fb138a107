/**
 * OpenAI-shaped requests (Responses, Chat Completions) as agent requests, and
 * the OpenAI error object every refusal of these routes uses.
 */
import { Schema } from "effect"
import { HttpServerResponse } from "effect/http"
import type * as Protocol from "../../../Protocol.ts"
import * as HttpError from "../../http/httpError.ts"
import { randomUuid } from "../../util/ids.ts"

/** The OpenAI error object: `{"error": {"message", "type", "param", "code"}}`. */
export const openAiError = (status: number, message: string, code: string) =>
  HttpServerResponse.jsonUnsafe(
    {
      error: {
        message: HttpError.capText(message, HttpError.maxMessageLength),
        type: status >= 500 ? "server_error" : "invalid_request_error",
        param: null,
        code
      }
    },
    { status }
  )

/** A failure of these routes as the OpenAI error object, with the status the protocol gives it. */
export const asOpenAiError = (error: unknown): HttpServerResponse.HttpServerResponse => {
  const { code, message, status } = HttpError.refusalOf(error)
  return openAiError(status, message, code)
}

/** A part of an OpenAI message's content: a text of some kind, or another part (ignored). */
const ContentPart = Schema.Struct({ type: Schema.String, text: Schema.optionalKey(Schema.String) })
const MessageContent = Schema.Union([Schema.String, Schema.Array(ContentPart)])
const textOf = (content: typeof MessageContent.Type | null | undefined): string =>
  typeof content === "string" ? content : (content ?? []).map((part) => part.text ?? "").join("")

const Role = Schema.Literals(["user", "assistant", "system", "developer"])

/** A Responses API input item that is a message (other items are ignored). */
const InputMessage = Schema.Struct({ role: Role, content: MessageContent })

/** `POST /responses`: what is read of the body (unknown fields are ignored). */
export const ResponsesBody = Schema.Struct({
  model: Schema.optionalKey(Schema.NullOr(Schema.String)),
  input: Schema.Union([Schema.String, Schema.Array(Schema.Union([InputMessage, Schema.Struct({ type: Schema.String })]))]),
  instructions: Schema.optionalKey(Schema.NullOr(Schema.String)),
  stream: Schema.optionalKey(Schema.NullOr(Schema.Boolean)),
  previous_response_id: Schema.optionalKey(Schema.NullOr(Schema.String)),
  user: Schema.optionalKey(Schema.NullOr(Schema.String))
})

/** `POST /chat/completions`: what is read of the body. */
export const ChatBody = Schema.Struct({
  model: Schema.optionalKey(Schema.NullOr(Schema.String)),
  messages: Schema.Array(Schema.Struct({ role: Schema.String, content: Schema.optionalKey(Schema.NullOr(MessageContent)) })),
  stream: Schema.optionalKey(Schema.NullOr(Schema.Boolean)),
  stream_options: Schema.optionalKey(Schema.NullOr(Schema.Struct({ include_usage: Schema.optionalKey(Schema.Boolean) }))),
  user: Schema.optionalKey(Schema.NullOr(Schema.String))
})

const message = (role: Protocol.Role, text: string): Protocol.Message => ({
  type: "message",
  role,
  content: [{ type: "text", text }]
})

const roleOf = (role: string): Protocol.Role | undefined =>
  role === "developer" || role === "system" ? "system" : role === "assistant" ? "assistant" : role === "user" ? "user" : undefined

/**
 * A response id that carries its session, so that `previous_response_id`
 * continues the session on any node with nothing stored:
 * `resp_<session, base64url>.<random>`.
 */
export const responseIdFor = (sessionId: string): string =>
  `resp_${Buffer.from(sessionId).toString("base64url")}.${randomUuid().replaceAll("-", "")}`

/** The session of a response id made by {@link responseIdFor}, if it is one. */
export const sessionOf = (responseId: string): string | undefined => {
  const match = /^resp_([A-Za-z0-9_-]+)\.[0-9a-f]{32}$/.exec(responseId)
  return match === null ? undefined : Buffer.from(match[1], "base64url").toString("utf8")
}

/** A Responses API body as an agent request: its session from `previous_response_id`, or a new one. */
export const fromResponsesBody = (body: typeof ResponsesBody.Type): Protocol.AgentRequest | string => {
  const previous = body.previous_response_id ?? undefined
  const sessionId = previous === undefined ? randomUuid() : sessionOf(previous)
  if (sessionId === undefined) return `previous_response_id ${HttpError.capText(previous!, 64)} is not a response of this server`
  const input: Array<Protocol.Message> = []
  if (body.instructions != null) input.push(message("system", body.instructions))
  if (typeof body.input === "string") input.push(message("user", body.input))
  else {
    for (const item of body.input) {
      if (!("role" in item)) continue
      const role = roleOf(item.role)
      if (role !== undefined) input.push(message(role, textOf(item.content)))
    }
  }
  if (input.length === 0) return "input holds no message"
  return {
    input,
    session_id: sessionId,
    user_id: body.user ?? null,
    id: responseIdFor(sessionId),
    stream: body.stream === true
  }
}

/** A Chat Completions body as an agent request: the whole conversation is its input, in a session of its own. */
export const fromChatBody = (body: typeof ChatBody.Type): Protocol.AgentRequest | string => {
  const input = body.messages.flatMap((entry) => {
    const role = roleOf(entry.role)
    return role === undefined ? [] : [message(role, textOf(entry.content))]
  })
  if (input.length === 0) return "messages holds no system, user or assistant message"
  const sessionId = randomUuid()
  return { input, session_id: sessionId, user_id: body.user ?? null, stream: body.stream === true }
}
