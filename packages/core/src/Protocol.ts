/**
 * The agent wire protocol: the request a client sends to `POST /process`, and
 * the events the server streams back. Field names and spellings are those of
 * AgentScope Runtime 1.1.x, so its clients work unchanged.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"

/**
 * Who wrote a message.
 *
 * @since 0.1.0
 */
export const Role = Schema.Literals(["user", "assistant", "system", "tool"])

/**
 * @since 0.1.0
 */
export type Role = typeof Role.Type

/**
 * The kind of a message: plain text, a tool call or its output, reasoning, …
 *
 * @since 0.1.0
 */
export const MessageType = Schema.Literals([
  "message", "function_call", "function_call_output", "plugin_call", "plugin_call_output",
  "component_call", "component_call_output", "mcp_list_tools", "mcp_approval_request",
  "mcp_call", "mcp_approval_response", "mcp_call_output", "reasoning", "heartbeat", "error"
])

/**
 * @since 0.1.0
 */
export type MessageType = typeof MessageType.Type

/**
 * The status of a response, a message or a content part.
 *
 * @since 0.1.0
 */
export const RunStatus = Schema.Literals([
  "created",
  "in_progress",
  "completed",
  "canceled",
  "failed",
  "rejected",
  "unknown",
  "queued",
  "incomplete"
])

/**
 * @since 0.1.0
 */
export type RunStatus = typeof RunStatus.Type

/**
 * A JSON object with unknown values.
 *
 * @since 0.1.0
 */
export const JsonObject = Schema.Record(Schema.String, Schema.Unknown)

/**
 * @since 0.1.0
 */
export type JsonObject = typeof JsonObject.Type

/**
 * A text part.
 *
 * @since 0.1.0
 */
export const TextContent = Schema.Struct({ type: Schema.Literal("text"), text: Schema.String })

/**
 * A structured part. Tool calls carry `{call_id, name, arguments}`, tool
 * results `{call_id, name, output}`.
 *
 * @since 0.1.0
 */
export const DataContent = Schema.Struct({ type: Schema.Literal("data"), data: JsonObject })

/**
 * An image, by URL or data URL.
 *
 * @since 0.1.0
 */
export const ImageContent = Schema.Struct({ type: Schema.Literal("image"), image_url: Schema.String })

/**
 * Audio, base64 encoded.
 *
 * @since 0.1.0
 */
export const AudioContent = Schema.Struct({
  type: Schema.Literal("audio"),
  data: Schema.String,
  format: Schema.optionalKey(Schema.NullOr(Schema.String))
})

/**
 * A video, by URL.
 *
 * @since 0.1.0
 */
export const VideoContent = Schema.Struct({ type: Schema.Literal("video"), video_url: Schema.String })

/**
 * A file, by URL, id or inline data.
 *
 * @since 0.1.0
 */
export const FileContent = Schema.Struct({
  type: Schema.Literal("file"),
  file_url: Schema.optionalKey(Schema.NullOr(Schema.String)),
  file_id: Schema.optionalKey(Schema.NullOr(Schema.String)),
  filename: Schema.optionalKey(Schema.NullOr(Schema.String)),
  file_data: Schema.optionalKey(Schema.NullOr(Schema.String))
})

/**
 * A refusal by the model.
 *
 * @since 0.1.0
 */
export const RefusalContent = Schema.Struct({ type: Schema.Literal("refusal"), refusal: Schema.String })

/**
 * One part of a message, a union on `type`.
 *
 * @since 0.1.0
 */
export const Content = Schema.Union([
  TextContent,
  DataContent,
  ImageContent,
  AudioContent,
  VideoContent,
  FileContent,
  RefusalContent
])

/**
 * @since 0.1.0
 */
export type Content = typeof Content.Type

/**
 * A message of the conversation. `content` is always a list of parts.
 *
 * @since 0.1.0
 */
export const Message = Schema.Struct({
  id: Schema.optionalKey(Schema.NullOr(Schema.String)),
  type: Schema.optionalKey(MessageType),
  role: Schema.optionalKey(Schema.NullOr(Role)),
  content: Schema.optionalKey(Schema.NullOr(Schema.Array(Content))),
  status: Schema.optionalKey(Schema.NullOr(RunStatus)),
  metadata: Schema.optionalKey(Schema.NullOr(JsonObject)),
  usage: Schema.optionalKey(Schema.NullOr(JsonObject)),
  code: Schema.optionalKey(Schema.NullOr(Schema.String)),
  message: Schema.optionalKey(Schema.NullOr(Schema.String))
})

/**
 * @since 0.1.0
 */
export type Message = typeof Message.Type

/**
 * A tool the model may call: an OpenAI-style function tool, or any other object.
 *
 * @since 0.1.0
 */
export const Tool = Schema.Union([
  Schema.Struct({
    type: Schema.Literal("function"),
    function: Schema.Struct({
      name: Schema.String,
      description: Schema.optionalKey(Schema.NullOr(Schema.String)),
      parameters: Schema.optionalKey(Schema.NullOr(JsonObject))
    })
  }),
  JsonObject
])

const OptionalNumber = Schema.optionalKey(Schema.NullOr(Schema.Number))

/**
 * The body of `POST /process`. Fields the schema does not name are kept and
 * reach the handler.
 *
 * @since 0.1.0
 */
export const AgentRequest = Schema.StructWithRest(
  Schema.Struct({
    input: Schema.Array(Message),
    stream: Schema.optionalKey(Schema.Boolean),
    id: Schema.optionalKey(Schema.NullOr(Schema.String)),
    session_id: Schema.optionalKey(Schema.NullOr(Schema.String)),
    user_id: Schema.optionalKey(Schema.NullOr(Schema.String)),
    model: Schema.optionalKey(Schema.NullOr(Schema.String)),
    top_p: OptionalNumber,
    temperature: OptionalNumber,
    frequency_penalty: OptionalNumber,
    presence_penalty: OptionalNumber,
    max_tokens: Schema.optionalKey(Schema.NullOr(Schema.Int)),
    stop: Schema.optionalKey(Schema.NullOr(Schema.Union([Schema.String, Schema.Array(Schema.String)]))),
    seed: Schema.optionalKey(Schema.NullOr(Schema.Int)),
    n: Schema.optionalKey(Schema.NullOr(Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 5 })))),
    tools: Schema.optionalKey(Schema.NullOr(Schema.Array(Tool))),
    // answered at once, the run going on; or a run that goes on when its client leaves (PROTOCOL.md §10)
    background: Schema.optionalKey(Schema.Boolean),
    on_disconnect: Schema.optionalKey(Schema.Literals(["cancel", "continue"]))
  }),
  [Schema.Record(Schema.String, Schema.Unknown)]
)

/**
 * @since 0.1.0
 */
export type AgentRequest = typeof AgentRequest.Type

/**
 * The `error` field of an event, and the body of a failed reply.
 *
 * @since 0.1.0
 */
export const ErrorInfo = Schema.Struct({ code: Schema.String, message: Schema.String })

/**
 * @since 0.1.0
 */
export type ErrorInfo = typeof ErrorInfo.Type

const eventFields = {
  sequence_number: Schema.Int,
  status: RunStatus,
  error: Schema.NullOr(ErrorInfo)
}

const contentEventFields = {
  ...eventFields,
  object: Schema.Literal("content"),
  index: Schema.Int,
  delta: Schema.Boolean,
  msg_id: Schema.String
}

/**
 * A content event: an increment (`delta: true`) or the completed part.
 * The type's own fields (`text`, `data`, `image_url`, …) sit beside the
 * common ones.
 *
 * @since 0.1.0
 */
export const ContentEvent = Schema.Union([
  Schema.Struct({ ...contentEventFields, ...TextContent.fields }),
  Schema.Struct({ ...contentEventFields, ...DataContent.fields }),
  Schema.Struct({ ...contentEventFields, ...ImageContent.fields }),
  Schema.Struct({ ...contentEventFields, ...AudioContent.fields }),
  Schema.Struct({ ...contentEventFields, ...VideoContent.fields }),
  Schema.Struct({ ...contentEventFields, ...FileContent.fields }),
  Schema.Struct({ ...contentEventFields, ...RefusalContent.fields })
])

/**
 * @since 0.1.0
 */
export type ContentEvent = typeof ContentEvent.Type

/**
 * A message event: `in_progress` when it starts, then `completed` with all
 * its parts.
 *
 * @since 0.1.0
 */
export const MessageEvent = Schema.Struct({
  ...eventFields,
  object: Schema.Literal("message"),
  id: Schema.String,
  type: MessageType,
  role: Schema.NullOr(Role),
  content: Schema.NullOr(Schema.Array(ContentEvent)),
  code: Schema.NullOr(Schema.String),
  message: Schema.NullOr(Schema.String),
  usage: Schema.NullOr(JsonObject),
  metadata: Schema.NullOr(JsonObject)
})

/**
 * @since 0.1.0
 */
export type MessageEvent = typeof MessageEvent.Type

/**
 * A response event: the run's lifecycle. The terminal one (`completed`,
 * `failed`, `canceled`) holds the whole output.
 *
 * @since 0.1.0
 */
export const ResponseEvent = Schema.Struct({
  ...eventFields,
  object: Schema.Literal("response"),
  id: Schema.String,
  created_at: Schema.Number,
  completed_at: Schema.NullOr(Schema.Number),
  output: Schema.Array(MessageEvent),
  usage: Schema.NullOr(JsonObject),
  session_id: Schema.String
})

/**
 * @since 0.1.0
 */
export type ResponseEvent = typeof ResponseEvent.Type

/**
 * Any event on the `/process` stream.
 *
 * @since 0.1.0
 */
export const Event = Schema.Union([ResponseEvent, MessageEvent, ContentEvent])

/**
 * @since 0.1.0
 */
export type Event = typeof Event.Type

/**
 * The statuses that end a run. Exactly one response event with one of them
 * ends every stream.
 *
 * @since 0.1.0
 */
export const isTerminalStatus = (status: RunStatus): boolean =>
  status === "completed" || status === "failed" || status === "canceled"
