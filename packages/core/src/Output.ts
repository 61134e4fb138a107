/**
 * What a query handler emits. A handler returns a `Stream` of these small,
 * high-level values; the Runner turns them into the numbered protocol events
 * (ids, message and content lifecycles, `output`, `usage`, the terminal
 * event), so authors never count sequence numbers.
 *
 * @since 0.1.0
 */
import type * as Protocol from "./Protocol.ts"

/**
 * A piece of assistant text. Consecutive deltas form one text part of one
 * assistant message.
 *
 * @since 0.1.0
 */
export interface TextDelta {
  readonly _tag: "TextDelta"
  readonly text: string
}

/**
 * A piece of reasoning. Consecutive deltas form one `reasoning` message.
 *
 * @since 0.1.0
 */
export interface ReasoningDelta {
  readonly _tag: "ReasoningDelta"
  readonly text: string
}

/**
 * A call to a tool, sent as a whole `plugin_call` (or `function_call`) message.
 *
 * @since 0.1.0
 */
export interface ToolCall {
  readonly _tag: "ToolCall"
  readonly messageType: "plugin_call" | "function_call"
  readonly call_id: string
  readonly name: string
  readonly arguments: string
}

/**
 * The result of a tool call, sent as a whole `plugin_call_output` (or
 * `function_call_output`) message.
 *
 * @since 0.1.0
 */
export interface ToolResult {
  readonly _tag: "ToolResult"
  readonly messageType: "plugin_call_output" | "function_call_output"
  readonly call_id: string
  readonly name: string
  readonly output: string
}

/**
 * A whole message, with all its parts at once.
 *
 * @since 0.1.0
 */
export interface WholeMessage {
  readonly _tag: "WholeMessage"
  readonly type: Protocol.MessageType
  readonly role: Protocol.Role
  readonly content: ReadonlyArray<Protocol.Content>
  readonly metadata: Protocol.JsonObject | null
}

/**
 * A structured part added to the current assistant message.
 *
 * @since 0.1.0
 */
export interface Data {
  readonly _tag: "Data"
  readonly data: Protocol.JsonObject
}

/**
 * Token usage. Numeric fields are summed into the response's `usage`, and the
 * message in progress carries it too.
 *
 * @since 0.1.0
 */
export interface Usage {
  readonly _tag: "Usage"
  readonly usage: Protocol.JsonObject
}

/**
 * Ends the current message, so that the next delta starts a new one.
 *
 * @since 0.1.0
 */
export interface EndMessage {
  readonly _tag: "EndMessage"
}

/**
 * A raw message or content event, for full control. The Runner still assigns
 * its `sequence_number`; a `message completed` event is added to `output`.
 *
 * @since 0.1.0
 */
export interface RawEvent {
  readonly _tag: "RawEvent"
  readonly event: RawEventInput
}

/**
 * A message or content event without its `sequence_number`.
 *
 * @since 0.1.0
 */
export type RawEventInput =
  | Omit<Protocol.MessageEvent, "sequence_number">
  | DistributiveOmit<Protocol.ContentEvent, "sequence_number">

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never

/**
 * Everything a query handler may emit.
 *
 * @since 0.1.0
 */
export type AgentOutput =
  | TextDelta
  | ReasoningDelta
  | ToolCall
  | ToolResult
  | WholeMessage
  | Data
  | Usage
  | EndMessage
  | RawEvent

const jsonText = (value: unknown): string => typeof value === "string" ? value : JSON.stringify(value)

/**
 * A piece of assistant text.
 *
 * @example
 * ```ts
 * Stream.make(Output.text("Hello"), Output.text(" World!"))
 * ```
 *
 * @since 0.1.0
 */
export const text = (text: string): AgentOutput => ({ _tag: "TextDelta", text })

/**
 * A piece of reasoning.
 *
 * @since 0.1.0
 */
export const reasoning = (text: string): AgentOutput => ({ _tag: "ReasoningDelta", text })

/**
 * A tool call. Non-string `arguments` are sent as JSON text.
 *
 * @since 0.1.0
 */
export const toolCall = (options: {
  readonly callId: string
  readonly name: string
  readonly arguments: unknown
  readonly messageType?: "plugin_call" | "function_call" | undefined
}): AgentOutput => ({
  _tag: "ToolCall",
  messageType: options.messageType ?? "plugin_call",
  call_id: options.callId,
  name: options.name,
  arguments: jsonText(options.arguments)
})

/**
 * A tool result. A non-string `output` is sent as JSON text.
 *
 * @since 0.1.0
 */
export const toolResult = (options: {
  readonly callId: string
  readonly name: string
  readonly output: unknown
  readonly messageType?: "plugin_call_output" | "function_call_output" | undefined
}): AgentOutput => ({
  _tag: "ToolResult",
  messageType: options.messageType ?? "plugin_call_output",
  call_id: options.callId,
  name: options.name,
  output: jsonText(options.output)
})

/**
 * A whole message. `type` defaults to `"message"`, `role` to `"assistant"`.
 *
 * @since 0.1.0
 */
export const message = (options: {
  readonly content: ReadonlyArray<Protocol.Content>
  readonly type?: Protocol.MessageType | undefined
  readonly role?: Protocol.Role | undefined
  readonly metadata?: Protocol.JsonObject | undefined
}): AgentOutput => ({
  _tag: "WholeMessage",
  type: options.type ?? "message",
  role: options.role ?? "assistant",
  content: options.content,
  metadata: options.metadata ?? null
})

/**
 * A structured part in the current assistant message.
 *
 * @since 0.1.0
 */
export const data = (data: Protocol.JsonObject): AgentOutput => ({ _tag: "Data", data })

/**
 * Token usage, such as `{ input_tokens: 12, output_tokens: 40 }`.
 *
 * @since 0.1.0
 */
export const usage = (usage: Protocol.JsonObject): AgentOutput => ({ _tag: "Usage", usage })

/**
 * Ends the current message.
 *
 * @since 0.1.0
 */
export const endMessage: AgentOutput = { _tag: "EndMessage" }

/**
 * A raw protocol event, for full control.
 *
 * @since 0.1.0
 */
export const event = (event: RawEventInput): AgentOutput => ({ _tag: "RawEvent", event })
