/**
 * Agents written with the Vercel AI SDK (`ai`): `streamText` (or a
 * `ToolLoopAgent`'s `stream`) becomes a query handler. Its `fullStream` is
 * mapped to agentapp outputs (text, reasoning, tool calls and results across
 * a multi-step tool loop, usage), the session's history and the request's
 * input are given to it as `ModelMessage`s, and a stop or a client that
 * leaves aborts the model request upstream through `abortSignal`.
 *
 * @example
 * ```ts
 * import { AiSdk } from "@agentapp/adapters/ai-sdk"
 * import { isStepCount, streamText } from "ai"
 *
 * const Query = App.query(AiSdk.handler(({ abortSignal, instructions, messages }) =>
 *   streamText({
 *     model,
 *     instructions: ["You are helpful.", ...instructions].join("\n\n"),
 *     messages,
 *     tools,
 *     stopWhen: isStepCount(5),
 *     abortSignal
 *   })
 * ))
 * ```
 *
 * @since 0.1.0
 */
import { AgentApp, type Protocol } from "@agentapp/core"
import type { ImagePart, ModelMessage, TextPart, TextStreamPart, ToolSet } from "ai"
import { Effect, Schema, Stream } from "effect"
import { isToolCall, isToolOutput, messageOf, textOf, toolData, withAbortSignal } from "./internal/shared.ts"

/**
 * The model or the SDK failed (an API error, a tool that threw outside the
 * loop, a broken stream): the run ends `failed` with this code and message.
 *
 * @since 0.1.0
 */
export class AiSdkError extends Schema.TaggedError<AiSdkError>()("AiSdkError", {
  message: Schema.String,
  cause: Schema.optional(Schema.Defect())
}) {}

/**
 * What the agent is given for a run.
 *
 * @since 0.1.0
 */
export interface RunInput {
  /** The session's earlier turns, then this request's input, as the SDK's messages (without system messages). */
  readonly messages: Array<ModelMessage>
  /**
   * The text of the system messages among them, in order: the SDK takes
   * them only as `instructions`, e.g. `[yours, ...instructions].join("\n\n")`.
   */
  readonly instructions: ReadonlyArray<string>
  /** Aborted when the run is stopped or its client leaves: pass it to `streamText`. */
  readonly abortSignal: AbortSignal
  readonly request: Protocol.AgentRequest
  readonly context: AgentApp.QueryContext
}

/** What `streamText` (and `ToolLoopAgent.stream`) give: the part the adapter reads. */
export interface StreamResult<TOOLS extends ToolSet> {
  readonly fullStream: AsyncIterable<TextStreamPart<TOOLS>>
}

type UserPart = TextPart | ImagePart

const userContent = (message: Protocol.Message): Array<UserPart> =>
  (message.content ?? []).flatMap((part): Array<UserPart> => {
    switch (part.type) {
      case "text":
        return [{ type: "text", text: part.text }]
      case "image":
        return [{ type: "image", image: new URL(part.image_url) }]
      case "data":
        return [{ type: "text", text: JSON.stringify(part.data) }]
      default:
        return []
    }
  })

/**
 * The text of the system messages among protocol messages, in order.
 *
 * @since 0.1.0
 */
export const systemTexts = (messages: ReadonlyArray<Protocol.Message>): Array<string> =>
  messages.flatMap((message) =>
    (message.type ?? "message") === "message" && message.role === "system" ? [textOf(message)] : []
  )

/**
 * Protocol messages (the session's history, a request's input) as the SDK's
 * `ModelMessage`s: user and assistant text, tool calls and their results.
 * Reasoning messages are left out (a provider takes only its own), and so
 * are system messages, which the SDK takes as `instructions` ({@link systemTexts}).
 *
 * @since 0.1.0
 */
export const toModelMessages = (messages: ReadonlyArray<Protocol.Message>): Array<ModelMessage> =>
  messages.flatMap((message): Array<ModelMessage> => {
    const type = message.type ?? "message"
    if (isToolCall(type)) {
      const call = toolData(message)
      return [{ role: "assistant", content: [{ type: "tool-call", toolCallId: call.callId, toolName: call.name, input: call.arguments }] }]
    }
    if (isToolOutput(type)) {
      const result = toolData(message)
      const output = typeof result.output === "string"
        ? { type: "text" as const, value: result.output }
        : { type: "json" as const, value: result.output as never }
      return [{ role: "tool", content: [{ type: "tool-result", toolCallId: result.callId, toolName: result.name, output }] }]
    }
    if (type !== "message") return []
    const role = message.role ?? "user"
    if (role === "assistant") return [{ role: "assistant", content: textOf(message) }]
    if (role === "user") return [{ role: "user", content: userContent(message) }]
    return []
  })

/** The outputs of one part of the SDK's `fullStream` (most parts give none). */
const outputsOf = <TOOLS extends ToolSet>(part: TextStreamPart<TOOLS>): Effect.Effect<ReadonlyArray<AgentApp.AgentOutput>, AiSdkError> => {
  switch (part.type) {
    case "text-delta":
      return Effect.succeed(part.text === "" ? [] : [AgentApp.text(part.text)])
    case "reasoning-delta":
      return Effect.succeed(part.text === "" ? [] : [AgentApp.reasoning(part.text)])
    case "tool-call":
      return Effect.succeed([AgentApp.toolCall({ callId: part.toolCallId, name: part.toolName, arguments: part.input ?? {} })])
    case "tool-result":
      return Effect.succeed(
        part.preliminary === true ? [] : [AgentApp.toolResult({ callId: part.toolCallId, name: part.toolName, output: part.output ?? null })]
      )
    case "tool-error":
      return Effect.succeed([
        AgentApp.toolResult({ callId: part.toolCallId, name: part.toolName, output: { error: messageOf(part.error) } })
      ])
    case "finish-step": {
      const { inputTokens, outputTokens, totalTokens } = part.usage
      const usage: Record<string, number> = {}
      if (inputTokens !== undefined) usage.input_tokens = inputTokens
      if (outputTokens !== undefined) usage.output_tokens = outputTokens
      if (totalTokens !== undefined) usage.total_tokens = totalTokens
      return Effect.succeed(Object.keys(usage).length === 0 ? [] : [AgentApp.usage(usage)])
    }
    case "error":
      return Effect.fail(new AiSdkError({ message: messageOf(part.error), cause: part.error }))
    default:
      return Effect.succeed([])
  }
}

/**
 * The outputs of an SDK stream (`result.fullStream`). It fails with
 * `AiSdkError` on the stream's `error` part, or when the iteration throws.
 *
 * @since 0.1.0
 */
export const fromFullStream = <TOOLS extends ToolSet>(
  fullStream: AsyncIterable<TextStreamPart<TOOLS>>
): Stream.Stream<AgentApp.AgentOutput, AiSdkError> =>
  Stream.fromAsyncIterable(fullStream, (cause) => new AiSdkError({ message: messageOf(cause), cause })).pipe(
    Stream.mapEffect(outputsOf),
    Stream.flatMap(Stream.fromIterable)
  )

/**
 * A query handler from a function that starts the SDK's stream: it is given
 * the messages (history, then input) and an `AbortSignal` that a stop or a
 * client that leaves aborts, so that the model request ends upstream too.
 *
 * @since 0.1.0
 */
export const handler = <TOOLS extends ToolSet>(
  run: (input: RunInput) => StreamResult<TOOLS> | PromiseLike<StreamResult<TOOLS>>
) =>
(request: Protocol.AgentRequest, context: AgentApp.QueryContext): Stream.Stream<AgentApp.AgentOutput, AiSdkError> =>
  withAbortSignal((abortSignal) =>
    Stream.unwrap(Effect.gen(function*() {
      const all = [...context.history, ...request.input]
      const messages = toModelMessages(all)
      const instructions = systemTexts(all)
      const result = yield* Effect.tryPromise({
        try: async () => run({ messages, instructions, abortSignal, request, context }),
        catch: (cause) => new AiSdkError({ message: messageOf(cause), cause })
      })
      return fromFullStream(result.fullStream)
    }))
  )
