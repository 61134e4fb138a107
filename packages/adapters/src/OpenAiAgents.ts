/**
 * Agents written with the OpenAI Agents SDK (`@openai/agents`): an `Agent` run
 * with `run(agent, input, { stream: true, signal })` becomes a query handler.
 * The streamed run is mapped to agentapp outputs (text and reasoning deltas,
 * tool calls and outputs, handoffs as messages, usage), the session's history
 * and the request's input become its input items, and a stop or a client that
 * leaves aborts the run (and its model request) through `signal`.
 *
 * @example
 * ```ts
 * import { OpenAiAgents } from "@agentapp/adapters/openai-agents"
 * import { Agent } from "@openai/agents"
 *
 * const agent = new Agent({ name: "Assistant", instructions: "You are helpful.", tools: [getWeather] })
 * const Query = App.query(OpenAiAgents.handler(agent))
 * ```
 *
 * @since 0.1.0
 */
import { AgentApp, type Protocol } from "@agentapp/core"
import { type Agent, type AgentInputItem, run, type RunStreamEvent } from "@openai/agents"
import { Effect, Schema, Stream } from "effect"
import { isToolCall, isToolOutput, messageOf, textOf, toolData, withAbortSignal } from "./internal/shared.ts"

/**
 * The agent run or its model failed: the run ends `failed` with this code and
 * the SDK's message.
 *
 * @since 0.1.0
 */
export class OpenAiAgentsError extends Schema.TaggedError<OpenAiAgentsError>()("OpenAiAgentsError", {
  message: Schema.String,
  cause: Schema.optional(Schema.Defect())
}) {}

/**
 * Protocol messages (the session's history, a request's input) as the SDK's
 * input items: system, user and assistant text, function calls and their
 * results; reasoning messages are left out.
 *
 * @since 0.1.0
 */
export const toInputItems = (messages: ReadonlyArray<Protocol.Message>): Array<AgentInputItem> =>
  messages.flatMap((message): Array<AgentInputItem> => {
    const type = message.type ?? "message"
    if (isToolCall(type)) {
      const call = toolData(message)
      return [{
        type: "function_call",
        callId: call.callId,
        name: call.name,
        arguments: JSON.stringify(call.arguments),
        status: "completed"
      }]
    }
    if (isToolOutput(type)) {
      const result = toolData(message)
      const text = typeof result.output === "string" ? result.output : JSON.stringify(result.output)
      return [{ type: "function_call_result", callId: result.callId, name: result.name, status: "completed", output: text }]
    }
    if (type !== "message") return []
    const text = textOf(message)
    switch (message.role ?? "user") {
      case "system":
        return [{ role: "system", content: text }]
      case "assistant":
        return [{ role: "assistant", status: "completed", content: [{ type: "output_text", text }] }]
      case "user":
        return [{ role: "user", content: text }]
      default:
        return []
    }
  })

const reasoningDeltas: ReadonlySet<string> = new Set([
  "response.reasoning_text.delta",
  "response.reasoning_summary_text.delta"
])

/** The outputs of one event of a streamed run. */
const outputsOf = (event: RunStreamEvent): ReadonlyArray<AgentApp.AgentOutput> => {
  if (event.type === "raw_model_stream_event") {
    const data = event.data
    if (data.type === "output_text_delta") return data.delta === "" ? [] : [AgentApp.text(data.delta)]
    if (data.type === "response_done") {
      const usage = data.response.usage
      return [AgentApp.usage({
        input_tokens: usage.inputTokens,
        output_tokens: usage.outputTokens,
        total_tokens: usage.totalTokens
      })]
    }
    if (data.type === "model") {
      // the provider's own event: reasoning deltas of the Responses API
      const raw = data.event as { readonly type?: unknown; readonly delta?: unknown } | undefined
      if (typeof raw?.type === "string" && reasoningDeltas.has(raw.type) && typeof raw.delta === "string" && raw.delta !== "") {
        return [AgentApp.reasoning(raw.delta)]
      }
    }
    return []
  }
  if (event.type !== "run_item_stream_event") return []
  const item = event.item
  switch (event.name) {
    case "tool_called": {
      const raw = item.rawItem as { readonly type?: string; readonly callId?: string; readonly name?: string; readonly arguments?: string }
      if (raw.type !== "function_call") return []
      return [AgentApp.toolCall({ callId: raw.callId ?? "", name: raw.name ?? "", arguments: raw.arguments ?? "{}" })]
    }
    case "tool_output": {
      const raw = item.rawItem as { readonly callId?: string; readonly name?: string }
      const output = (item as { readonly output?: unknown }).output
      return [AgentApp.toolResult({ callId: raw.callId ?? "", name: raw.name ?? "", output: output ?? null })]
    }
    case "handoff_occurred": {
      const handoff = item as { readonly sourceAgent?: { readonly name: string }; readonly targetAgent?: { readonly name: string } }
      const from = handoff.sourceAgent?.name ?? ""
      const to = handoff.targetAgent?.name ?? ""
      return [AgentApp.message({
        role: "assistant",
        content: [{ type: "data", data: { handoff: { from, to } } }],
        metadata: { handoff: true }
      })]
    }
    default:
      return []
  }
}

/**
 * A query handler that runs `agent`, streamed, on the session's earlier turns
 * and the request's input; a stop or a client that leaves aborts the run.
 *
 * @since 0.1.0
 */
export const handler = (
  agent: Agent<any, any>,
  options?: { readonly maxTurns?: number | undefined }
) =>
(request: Protocol.AgentRequest, context: AgentApp.QueryContext): Stream.Stream<AgentApp.AgentOutput, OpenAiAgentsError> =>
  withAbortSignal((signal) =>
    Stream.unwrap(Effect.map(
      Effect.tryPromise({
        try: () =>
          run(agent, toInputItems([...context.history, ...request.input]), {
            stream: true,
            signal,
            ...(options?.maxTurns === undefined ? {} : { maxTurns: options.maxTurns })
          }),
        catch: (cause) => new OpenAiAgentsError({ message: messageOf(cause), cause })
      }),
      (result) =>
        Stream.fromAsyncIterable(result, (cause) => new OpenAiAgentsError({ message: messageOf(cause), cause })).pipe(
          Stream.flatMap((event) => Stream.fromIterable(outputsOf(event))),
          // a failure the SDK records on the run rather than throws from the stream
          Stream.concat(Stream.fromEffect(Effect.suspend(() =>
            result.error === null || result.error === undefined
              ? Effect.succeed([] as ReadonlyArray<AgentApp.AgentOutput>)
              : Effect.fail(new OpenAiAgentsError({ message: messageOf(result.error), cause: result.error }))
          )).pipe(Stream.flatMap(Stream.fromIterable)))
        )
    ))
  )
