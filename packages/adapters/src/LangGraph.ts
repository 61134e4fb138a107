/**
 * Agents written with LangGraph JS (`@langchain/langgraph`): a compiled graph
 * whose state has `messages` (a ReAct agent, or any `MessagesAnnotation`
 * graph) becomes a query handler. The graph is streamed in the `messages`
 * mode (the model's tokens, reasoning and usage) and the `updates` mode (the
 * nodes' whole messages: tool calls, and the tool node's results), the
 * session's history and the request's input become LangChain messages, and a
 * stop or a client that leaves aborts the run through its `signal`.
 *
 * @example
 * ```ts
 * import { LangGraph } from "@agentapp/adapters/langgraph"
 * import { createReactAgent } from "@langchain/langgraph/prebuilt"
 *
 * const agent = createReactAgent({ llm: new ChatOpenAI({ model: "gpt-4o-mini" }), tools: [getWeather] })
 * const Query = App.query(LangGraph.handler(agent))
 * ```
 *
 * @since 0.1.0
 */
import { AgentApp, type Protocol } from "@agentapp/core"
import { AIMessage, type BaseMessage, HumanMessage, SystemMessage, ToolMessage } from "@langchain/core/messages"
import { Effect, Schema, Stream } from "effect"
import { isToolCall, isToolOutput, messageOf, textOf, toolData, withAbortSignal } from "./internal/shared.ts"

/**
 * The graph or its model failed: the run ends `failed` with this code and
 * the error's message.
 *
 * @since 0.1.0
 */
export class LangGraphError extends Schema.TaggedError<LangGraphError>()("LangGraphError", {
  message: Schema.String,
  cause: Schema.optional(Schema.Defect())
}) {}

/**
 * What the adapter uses of a compiled graph: `stream`, with a `signal` and
 * several stream modes.
 *
 * @since 0.1.0
 */
export interface StreamableGraph {
  readonly stream: (
    input: any,
    options: { readonly streamMode: Array<"messages" | "updates">; readonly signal: AbortSignal } & Record<string, unknown>
  ) => Promise<AsyncIterable<unknown>>
}

/**
 * Options of {@link handler}.
 *
 * @since 0.1.0
 */
export interface Options {
  /** The graph's input from the run's messages. Default `{ messages }`. */
  readonly input?: ((messages: Array<BaseMessage>, request: Protocol.AgentRequest) => unknown) | undefined
  /** More of the graph's run config (`configurable`, `recursionLimit`, ...); the stream modes and signal are the adapter's. */
  readonly config?: ((request: Protocol.AgentRequest, context: AgentApp.QueryContext) => Record<string, unknown>) | undefined
}

/**
 * Protocol messages (the session's history, a request's input) as LangChain
 * messages: system, human and AI text, AI tool calls and their tool
 * messages; reasoning messages are left out.
 *
 * @since 0.1.0
 */
export const toMessages = (messages: ReadonlyArray<Protocol.Message>): Array<BaseMessage> =>
  messages.flatMap((message): Array<BaseMessage> => {
    const type = message.type ?? "message"
    if (isToolCall(type)) {
      const call = toolData(message)
      const args = typeof call.arguments === "object" && call.arguments !== null ? call.arguments as Record<string, unknown> : {}
      return [new AIMessage({ content: "", tool_calls: [{ id: call.callId, name: call.name, args, type: "tool_call" }] })]
    }
    if (isToolOutput(type)) {
      const result = toolData(message)
      const content = typeof result.output === "string" ? result.output : JSON.stringify(result.output)
      return [new ToolMessage({ content, tool_call_id: result.callId, name: result.name })]
    }
    if (type !== "message") return []
    switch (message.role ?? "user") {
      case "system":
        return [new SystemMessage(textOf(message))]
      case "assistant":
        return [new AIMessage(textOf(message))]
      case "user":
        return [new HumanMessage(textOf(message))]
      default:
        return []
    }
  })

/** A LangChain message as the adapter reads it (a class instance, or its serialized fields). */
interface MessageLike {
  readonly content?: unknown
  readonly tool_calls?: ReadonlyArray<{ readonly id?: string; readonly name: string; readonly args: unknown }>
  readonly tool_call_id?: string
  readonly name?: string
  readonly status?: string
  readonly usage_metadata?: { readonly input_tokens?: number; readonly output_tokens?: number; readonly total_tokens?: number }
  readonly additional_kwargs?: Record<string, unknown>
  readonly _getType?: () => string
  readonly getType?: () => string
}

const kindOf = (message: MessageLike): string => message.getType?.() ?? message._getType?.() ?? ""

/** The text and the reasoning of a message's content (a string, or content blocks). */
const contentOf = (message: MessageLike): { readonly text: string; readonly reasoning: string } => {
  const fromKwargs = message.additional_kwargs?.reasoning_content
  const reasoning = typeof fromKwargs === "string" ? [fromKwargs] : []
  if (typeof message.content === "string") return { text: message.content, reasoning: reasoning.join("") }
  const text: Array<string> = []
  for (const block of Array.isArray(message.content) ? message.content : []) {
    if (block?.type === "text" && typeof block.text === "string") text.push(block.text)
    if (block?.type === "reasoning" && typeof block.reasoning === "string") reasoning.push(block.reasoning)
  }
  return { text: text.join(""), reasoning: reasoning.join("") }
}

/** The outputs of one `[mode, chunk]` of the graph's stream. */
const outputsOf = (item: unknown): ReadonlyArray<AgentApp.AgentOutput> => {
  if (!Array.isArray(item) || item.length !== 2) return []
  const [mode, chunk] = item as [string, unknown]
  if (mode === "messages") {
    // the model's tokens: `[messageChunk, metadata]`; whole messages come through `updates`
    const message = (Array.isArray(chunk) ? chunk[0] : undefined) as MessageLike | undefined
    if (message === undefined || !kindOf(message).startsWith("ai")) return []
    const { reasoning, text } = contentOf(message)
    const out: Array<AgentApp.AgentOutput> = []
    if (reasoning !== "") out.push(AgentApp.reasoning(reasoning))
    if (text !== "") out.push(AgentApp.text(text))
    const usage = message.usage_metadata
    if (usage !== undefined) {
      const counts: Record<string, number> = {}
      for (const key of ["input_tokens", "output_tokens", "total_tokens"] as const) {
        if (typeof usage[key] === "number") counts[key] = usage[key]
      }
      if (Object.keys(counts).length > 0) out.push(AgentApp.usage(counts))
    }
    return out
  }
  if (mode === "updates" && typeof chunk === "object" && chunk !== null) {
    // each node's update: its new messages, whole
    return Object.values(chunk).flatMap((update) => {
      const messages = (update as { readonly messages?: unknown } | null)?.messages
      return (Array.isArray(messages) ? messages : []).flatMap((message: MessageLike) => {
        const kind = kindOf(message)
        if (kind === "ai") {
          return (message.tool_calls ?? []).map((call) =>
            AgentApp.toolCall({ callId: call.id ?? "", name: call.name, arguments: call.args ?? {} })
          )
        }
        if (kind === "tool") {
          const { text } = contentOf(message)
          const output = message.status === "error" ? { error: text } : text
          return [AgentApp.toolResult({ callId: message.tool_call_id ?? "", name: message.name ?? "", output })]
        }
        return []
      })
    })
  }
  return []
}

/**
 * A query handler from a compiled graph whose state has `messages`. Its
 * input is the session's earlier turns and the request's input, as LangChain
 * messages; a stop or a client that leaves aborts the graph's run.
 *
 * @since 0.1.0
 */
export const handler = (graph: StreamableGraph, options?: Options) =>
(request: Protocol.AgentRequest, context: AgentApp.QueryContext): Stream.Stream<AgentApp.AgentOutput, LangGraphError> =>
  withAbortSignal((signal) =>
    Stream.unwrap(Effect.map(
      Effect.tryPromise({
        try: () => {
          const messages = toMessages([...context.history, ...request.input])
          const input = options?.input === undefined ? { messages } : options.input(messages, request)
          return graph.stream(input, { ...options?.config?.(request, context), streamMode: ["messages", "updates"], signal })
        },
        catch: (cause) => new LangGraphError({ message: messageOf(cause), cause })
      }),
      (iterable) =>
        Stream.fromAsyncIterable(iterable, (cause) => new LangGraphError({ message: messageOf(cause), cause })).pipe(
          Stream.flatMap((item) => Stream.fromIterable(outputsOf(item)))
        )
    ))
  )
