/**
 * A run's protocol events as the OpenAI Responses API's: the `response.*`
 * stream events (with their own `sequence_number`), and the Response object
 * the last of them carries.
 */
import type * as Protocol from "../../../Protocol.ts"

/** A Responses API stream event: its `type` and fields. */
export type ResponseStreamEvent = { readonly type: string } & Record<string, unknown>

/** An output item as the Responses API shows it. */
type OutputItem = Record<string, unknown> & { readonly id: string; readonly type: string }

const textOf = (parts: ReadonlyArray<Protocol.ContentEvent> | null): string =>
  (parts ?? []).flatMap((part) => part.type === "text" ? [part.text] : []).join("")

const dataOf = (parts: ReadonlyArray<Protocol.ContentEvent> | null): Record<string, unknown> => {
  const part = (parts ?? []).find((part) => part.type === "data")
  return part?.type === "data" ? part.data : {}
}

/** The usage of a run in the Responses API's shape. */
const usageOf = (usage: Record<string, unknown> | null) => {
  if (usage === null) return null
  const input = typeof usage.input_tokens === "number" ? usage.input_tokens : 0
  const output = typeof usage.output_tokens === "number" ? usage.output_tokens : 0
  return {
    input_tokens: input,
    input_tokens_details: { cached_tokens: 0 },
    output_tokens: output,
    output_tokens_details: { reasoning_tokens: 0 },
    total_tokens: typeof usage.total_tokens === "number" ? usage.total_tokens : input + output
  }
}

/** A finished protocol message as an output item: a message, a reasoning item or a function call; none for the rest. */
const itemOf = (message: Protocol.MessageEvent): OutputItem | undefined => {
  switch (message.type) {
    case "message":
      return message.role === "assistant"
        ? {
          id: message.id,
          type: "message",
          role: "assistant",
          status: "completed",
          content: [{ type: "output_text", text: textOf(message.content), annotations: [] }]
        }
        : undefined
    case "reasoning":
      return { id: message.id, type: "reasoning", summary: [{ type: "summary_text", text: textOf(message.content) }] }
    case "plugin_call":
    case "function_call":
    case "mcp_call": {
      const data = dataOf(message.content)
      return {
        id: message.id,
        type: "function_call",
        status: "completed",
        call_id: String(data.call_id ?? ""),
        name: String(data.name ?? ""),
        arguments: typeof data.arguments === "string" ? data.arguments : JSON.stringify(data.arguments ?? {})
      }
    }
    default:
      return undefined
  }
}

/** The Response object of a run: from its terminal event, or as it is so far. */
export const responseObject = (
  event: Protocol.ResponseEvent,
  model: string,
  output: ReadonlyArray<OutputItem> = (event.output ?? []).flatMap((message) => itemOf(message) ?? [])
) => {
  const status = event.status === "canceled"
    ? "cancelled"
    : event.status === "completed" || event.status === "failed"
    ? event.status
    : "in_progress"
  return {
    id: event.id,
    object: "response",
    created_at: event.created_at,
    status,
    model,
    output,
    output_text: output.flatMap((item) =>
      item.type === "message" ? [(item.content as Array<{ text: string }>).map((part) => part.text).join("")] : []
    ).join(""),
    usage: usageOf(event.usage),
    error: event.error === null ? null : { code: event.error.code, message: event.error.message },
    incomplete_details: null,
    metadata: { session_id: event.session_id ?? null },
    parallel_tool_calls: true,
    tools: []
  }
}

/**
 * A mapper for one run: each protocol event in, the Responses events it
 * makes out, numbered from 0.
 */
export const makeResponseEvents = (model: string) => {
  let sequence = 0
  /** Output items in order, and where each open message's index is. */
  const output: Array<OutputItem> = []
  const open = new Map<string, { readonly index: number; readonly kind: string; started: boolean }>()
  const event = (type: string, fields: Record<string, unknown>): ResponseStreamEvent => ({ type, sequence_number: sequence++, ...fields })

  return (source: Protocol.Event): ReadonlyArray<ResponseStreamEvent> => {
    if (source.object === "response") {
      if (source.status === "created") return [event("response.created", { response: responseObject(source, model, []) })]
      if (source.status === "in_progress") return [event("response.in_progress", { response: responseObject(source, model, []) })]
      const response = responseObject(source, model, output)
      if (source.status === "completed") return [event("response.completed", { response })]
      if (source.status === "failed") return [event("response.failed", { response })]
      return [event("response.incomplete", { response: { ...response, incomplete_details: { reason: "cancelled" } } })]
    }
    if (source.object === "message") {
      const kind = source.type === "message" && source.role === "assistant" ? "message" : source.type === "reasoning" ? "reasoning" : "other"
      if (source.status === "in_progress") {
        if (kind === "other") return []
        const index = output.length
        const item: OutputItem = kind === "message"
          ? { id: source.id, type: "message", role: "assistant", status: "in_progress", content: [] }
          : { id: source.id, type: "reasoning", summary: [] }
        output.push(item)
        open.set(source.id, { index, kind, started: false })
        return [event("response.output_item.added", { output_index: index, item })]
      }
      // a whole message (a tool call) arrives completed without an in_progress event of its own here
      const placed = open.get(source.id)
      open.delete(source.id)
      const item = itemOf(source)
      if (item === undefined) return []
      const index = placed?.index ?? output.length
      if (placed === undefined) output.push(item)
      else output[index] = item
      const out: Array<ResponseStreamEvent> = []
      if (placed === undefined) out.push(event("response.output_item.added", { output_index: index, item: { ...item, status: "in_progress" } }))
      if (item.type === "function_call") {
        out.push(event("response.function_call_arguments.done", { item_id: item.id, output_index: index, arguments: item.arguments }))
      }
      out.push(event("response.output_item.done", { output_index: index, item }))
      return out
    }
    // content
    const placed = open.get(source.msg_id)
    if (placed === undefined || source.type !== "text") return []
    const out: Array<ResponseStreamEvent> = []
    if (placed.kind === "message") {
      if (!placed.started) {
        placed.started = true
        out.push(event("response.content_part.added", {
          item_id: source.msg_id,
          output_index: placed.index,
          content_index: 0,
          part: { type: "output_text", text: "", annotations: [] }
        }))
      }
      if (source.delta === true) {
        out.push(event("response.output_text.delta", {
          item_id: source.msg_id,
          output_index: placed.index,
          content_index: 0,
          delta: source.text,
          logprobs: []
        }))
      } else {
        const part = { type: "output_text", text: source.text, annotations: [] }
        out.push(
          event("response.output_text.done", { item_id: source.msg_id, output_index: placed.index, content_index: 0, text: source.text, logprobs: [] }),
          event("response.content_part.done", { item_id: source.msg_id, output_index: placed.index, content_index: 0, part })
        )
      }
      return out
    }
    if (source.delta === true) {
      return [event("response.reasoning_summary_text.delta", {
        item_id: source.msg_id,
        output_index: placed.index,
        summary_index: 0,
        delta: source.text
      })]
    }
    return [event("response.reasoning_summary_text.done", {
      item_id: source.msg_id,
      output_index: placed.index,
      summary_index: 0,
      text: source.text
    })]
  }
}
