/**
 * Agents written with `effect/ai`: a `LanguageModel.streamText` stream becomes
 * a query handler, with no promise in between. Its parts are mapped to
 * agentapp outputs (text, reasoning, tool calls and their results, usage),
 * the session's history and the request's input become its `Prompt`, and a
 * stop interrupts the stream's fiber, which interrupts the provider's request.
 *
 * @example
 * ```ts
 * import { EffectAi } from "@agentapp/adapters/effect-ai"
 * import { LanguageModel } from "effect/ai"
 *
 * const Query = App.query(EffectAi.handler(({ prompt }) =>
 *   LanguageModel.streamText({ prompt, toolkit: WeatherToolkit })
 * ))
 * // then provide a LanguageModel layer (a provider's, or your own) and the toolkit's handlers
 * ```
 *
 * @since 0.1.0
 */
import { AgentApp, type Protocol } from "@agentapp/core"
import { Effect, Schema, Stream } from "effect"
import { Prompt, type Response } from "effect/ai"
import { isToolCall, isToolOutput, messageOf, textOf, toolData } from "./internal/shared.ts"

/**
 * The session's messages could not be made into a `Prompt`, or the model's
 * stream sent an error part.
 *
 * @since 0.1.0
 */
export class EffectAiError extends Schema.TaggedError<EffectAiError>()("EffectAiError", {
  message: Schema.String,
  cause: Schema.optional(Schema.Defect())
}) {}

/**
 * What the agent is given for a run.
 *
 * @since 0.1.0
 */
export interface RunInput {
  /** The session's earlier turns, then this request's input. */
  readonly prompt: Prompt.Prompt
  readonly request: Protocol.AgentRequest
  readonly context: AgentApp.QueryContext
}

/**
 * Protocol messages as encoded `Prompt` messages: system, user and assistant
 * text (a data part as its JSON), tool calls and their results; reasoning
 * messages are left out.
 *
 * @since 0.1.0
 */
export const toMessages = (messages: ReadonlyArray<Protocol.Message>): Array<Prompt.MessageEncoded> =>
  messages.flatMap((message): Array<Prompt.MessageEncoded> => {
    const type = message.type ?? "message"
    if (isToolCall(type)) {
      const call = toolData(message)
      return [{
        role: "assistant",
        content: [{ type: "tool-call", id: call.callId, name: call.name, params: call.arguments, providerExecuted: false }]
      }]
    }
    if (isToolOutput(type)) {
      const result = toolData(message)
      return [{
        role: "tool",
        content: [{ type: "tool-result", id: result.callId, name: result.name, isFailure: false, result: result.output }]
      }]
    }
    if (type !== "message") return []
    const text = (message.content ?? []).map((part) =>
      part.type === "text" ? part.text : part.type === "data" ? JSON.stringify(part.data) : ""
    ).join("")
    switch (message.role ?? "user") {
      case "system":
        return [{ role: "system", content: textOf(message) }]
      case "assistant":
        return [{ role: "assistant", content: [{ type: "text", text }] }]
      case "user":
        return [{ role: "user", content: [{ type: "text", text }] }]
      default:
        return []
    }
  })

/**
 * Protocol messages as a `Prompt` (see {@link toMessages}).
 *
 * @since 0.1.0
 */
export const toPrompt = (messages: ReadonlyArray<Protocol.Message>): Effect.Effect<Prompt.Prompt, EffectAiError> =>
  Effect.try({
    try: () => Prompt.make(toMessages(messages)),
    catch: (cause) => new EffectAiError({ message: `The session's messages are not a prompt: ${String(cause)}`, cause })
  })

const usageOf = (usage: Response.Usage): Record<string, number> => {
  const out: Record<string, number> = {}
  if (usage.inputTokens.total !== undefined) out.input_tokens = usage.inputTokens.total
  if (usage.outputTokens.total !== undefined) out.output_tokens = usage.outputTokens.total
  if (usage.inputTokens.total !== undefined && usage.outputTokens.total !== undefined) {
    out.total_tokens = usage.inputTokens.total + usage.outputTokens.total
  }
  return out
}

/** The outputs of one part of a `streamText` stream (most parts give none). */
const outputsOf = (part: Response.StreamPart<any>): Effect.Effect<ReadonlyArray<AgentApp.AgentOutput>, EffectAiError> => {
  switch (part.type) {
    case "text-delta":
      return Effect.succeed(part.delta === "" ? [] : [AgentApp.text(part.delta)])
    case "reasoning-delta":
      return Effect.succeed(part.delta === "" ? [] : [AgentApp.reasoning(part.delta)])
    case "tool-call":
      return Effect.succeed([AgentApp.toolCall({ callId: part.id, name: part.name, arguments: part.params ?? {} })])
    case "tool-result":
      return Effect.succeed(
        part.preliminary
          ? []
          : [AgentApp.toolResult({
            callId: part.id,
            name: part.name,
            output: part.isFailure ? { error: part.encodedResult ?? null } : part.encodedResult ?? null
          })]
      )
    case "finish": {
      const usage = usageOf(part.usage)
      return Effect.succeed(Object.keys(usage).length === 0 ? [] : [AgentApp.usage(usage)])
    }
    case "error":
      return Effect.fail(
        new EffectAiError({
          message: messageOf(part.error),
          cause: part.error
        })
      )
    default:
      return Effect.succeed([])
  }
}

/**
 * The outputs of a `LanguageModel.streamText` stream. Its own failures (an
 * `AiError`) end the run `failed` with their tag and message.
 *
 * @since 0.1.0
 */
export const fromStream = <E, R>(
  parts: Stream.Stream<Response.StreamPart<any>, E, R>
): Stream.Stream<AgentApp.AgentOutput, E | EffectAiError, R> =>
  parts.pipe(Stream.mapEffect(outputsOf), Stream.flatMap(Stream.fromIterable))

/**
 * A query handler from a function that gives a `streamText` stream for the
 * run's `Prompt` (the session's earlier turns, then the request's input).
 * A stop interrupts the stream, and so the provider's request.
 *
 * @since 0.1.0
 */
export const handler = <E, R>(run: (input: RunInput) => Stream.Stream<Response.StreamPart<any>, E, R>) =>
(request: Protocol.AgentRequest, context: AgentApp.QueryContext): Stream.Stream<AgentApp.AgentOutput, E | EffectAiError, R> =>
  Stream.unwrap(Effect.map(
    toPrompt([...context.history, ...request.input]),
    (prompt) => fromStream(run({ prompt, request, context }))
  ))
