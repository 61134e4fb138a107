/**
 * The AI SDK adapter against the SDK's own mock model (`ai/test`): text,
 * reasoning, a multi-step tool loop, usage, errors, the history given to the
 * model, and the abort signal a stop fires.
 */
import { AiSdk } from "@agentapp/adapters/ai-sdk"
import { type Protocol, Runner } from "@agentapp/core"
import { describe, expect, it } from "@effect/vitest"
import type { LanguageModelV4StreamPart } from "@ai-sdk/provider"
import { isStepCount, jsonSchema, streamText, tool } from "ai"
import { MockLanguageModelV4, simulateReadableStream } from "ai/test"
import { Deferred, Effect, Fiber, Stream } from "effect"
import { completed, contextOf, history, request } from "./support.ts"

const usage = (input: number, output: number) => ({
  inputTokens: { total: input, noCache: input, cacheRead: undefined, cacheWrite: undefined },
  outputTokens: { total: output, text: output, reasoning: undefined }
})
const finish = (reason: "stop" | "tool-calls", input: number, output: number): LanguageModelV4StreamPart => ({
  type: "finish",
  finishReason: { unified: reason, raw: reason },
  usage: usage(input, output)
})
const streamOf = (chunks: Array<LanguageModelV4StreamPart>) => ({ stream: simulateReadableStream({ chunks }) })
const text = (id: string, ...pieces: Array<string>): Array<LanguageModelV4StreamPart> => [
  { type: "text-start", id },
  ...pieces.map((delta) => ({ type: "text-delta" as const, id, delta })),
  { type: "text-end", id }
]

/** The protocol events of one run of the handler. */
const runEvents = (
  handler: ReturnType<typeof AiSdk.handler>,
  req: Protocol.AgentRequest,
  history?: ReadonlyArray<Protocol.Message>
) => {
  const ctx = contextOf(req, history)
  return Stream.runCollect(Runner.events(ctx, handler(req, ctx)))
}

describe("AiSdk.handler", () => {
  it.effect("text and reasoning deltas become the run's messages, the step's usage its usage", () =>
    Effect.gen(function*() {
      const model = new MockLanguageModelV4({
        doStream: streamOf([
          { type: "stream-start", warnings: [] },
          { type: "reasoning-start", id: "r" },
          { type: "reasoning-delta", id: "r", delta: "Thinking" },
          { type: "reasoning-end", id: "r" },
          ...text("t", "Hello", ", world"),
          finish("stop", 7, 3)
        ])
      })
      const events = yield* runEvents(AiSdk.handler(({ abortSignal, messages }) => streamText({ model, messages, abortSignal })), request("hi"))
      const final = events.at(-1) as Protocol.ResponseEvent
      expect(final.status).toBe("completed")
      expect(completed(events, "reasoning")[0].content![0]).toMatchObject({ type: "text", text: "Thinking" })
      expect(completed(events, "message")[0].content![0]).toMatchObject({ type: "text", text: "Hello, world" })
      expect(final.usage).toMatchObject({ input_tokens: 7, output_tokens: 3 })
    }))

  it.effect("a tool loop: the call, its result, and the next step's answer; usage summed over the steps", () =>
    Effect.gen(function*() {
      const model = new MockLanguageModelV4({
        doStream: [
          streamOf([
            { type: "tool-call", toolCallId: "call_1", toolName: "get_weather", input: JSON.stringify({ city: "Oslo" }) },
            finish("tool-calls", 10, 2)
          ]),
          streamOf([...text("t", "It is ", "cold."), finish("stop", 20, 4)])
        ]
      })
      const getWeather = tool({
        inputSchema: jsonSchema<{ city: string }>({ type: "object", properties: { city: { type: "string" } } }),
        execute: async ({ city }) => ({ city, celsius: -3 })
      })
      const events = yield* runEvents(
        AiSdk.handler(({ abortSignal, messages }) =>
          streamText({ model, messages, tools: { get_weather: getWeather }, stopWhen: isStepCount(3), abortSignal })
        ),
        request("Weather in Oslo?")
      )
      const [call] = completed(events, "plugin_call")
      expect(call.content![0]).toMatchObject({ type: "data", data: { call_id: "call_1", name: "get_weather" } })
      expect(JSON.parse((call.content![0] as any).data.arguments)).toEqual({ city: "Oslo" })
      const [result] = completed(events, "plugin_call_output")
      expect(JSON.parse((result.content![0] as any).data.output)).toEqual({ city: "Oslo", celsius: -3 })
      expect(completed(events, "message")[0].content![0]).toMatchObject({ text: "It is cold." })
      expect((events.at(-1) as Protocol.ResponseEvent).usage).toMatchObject({ input_tokens: 30, output_tokens: 6 })
      // the second step was sent the tool's result
      const second = model.doStreamCalls[1].prompt
      expect(second.at(-1)).toMatchObject({ role: "tool", content: [{ type: "tool-result", toolCallId: "call_1" }] })
    }))

  it.effect("a tool that throws gives its error as the result, and the loop goes on", () =>
    Effect.gen(function*() {
      const model = new MockLanguageModelV4({
        doStream: [
          streamOf([{ type: "tool-call", toolCallId: "c", toolName: "broken", input: "{}" }, finish("tool-calls", 1, 1)]),
          streamOf([...text("t", "Sorry."), finish("stop", 1, 1)])
        ]
      })
      const broken = tool({
        inputSchema: jsonSchema<Record<string, never>>({ type: "object" }),
        execute: async (): Promise<string> => {
          throw new Error("the weather service is down")
        }
      })
      const events = yield* runEvents(
        AiSdk.handler(({ abortSignal, messages }) =>
          streamText({ model, messages, tools: { broken }, stopWhen: isStepCount(3), abortSignal })
        ),
        request("go")
      )
      const [result] = completed(events, "plugin_call_output")
      expect(JSON.parse((result.content![0] as any).data.output)).toEqual({ error: "the weather service is down" })
      expect((events.at(-1) as Protocol.ResponseEvent).status).toBe("completed")
    }))

  it.effect("a model that fails ends the run failed with AiSdkError and the model's message", () =>
    Effect.gen(function*() {
      const model = new MockLanguageModelV4({
        doStream: async () => {
          throw new Error("429 rate limited")
        }
      })
      const events = yield* runEvents(
        AiSdk.handler(({ abortSignal, messages }) => streamText({ model, messages, abortSignal, maxRetries: 0 })),
        request("hi")
      )
      const final = events.at(-1) as Protocol.ResponseEvent
      expect(final.status).toBe("failed")
      expect(final.error).toEqual({ code: "AiSdkError", message: "429 rate limited" })
    }))

  it.effect("the history and the input reach the model as its messages: text, tool calls and their results", () =>
    Effect.gen(function*() {
      const model = new MockLanguageModelV4({ doStream: streamOf([...text("t", "ok"), finish("stop", 1, 1)]) })
      yield* runEvents(
        AiSdk.handler(({ abortSignal, instructions, messages }) =>
          streamText({ model, instructions: ["Base.", ...instructions].join("\n\n"), messages, abortSignal })
        ),
        request("And tomorrow?"),
        history
      )
      const prompt = model.doStreamCalls[0].prompt
      // the client's system message joins the app's instructions; the reasoning message is left out
      expect(prompt.map((message) => message.role)).toEqual(["system", "user", "assistant", "tool", "assistant", "user"])
      expect(prompt[0]).toMatchObject({ role: "system", content: "Base.\n\nBe brief." })
      expect(prompt[2]).toMatchObject({
        role: "assistant",
        content: [{ type: "tool-call", toolCallId: "c1", toolName: "get_weather", input: { city: "Oslo" } }]
      })
      expect(prompt[3]).toMatchObject({
        role: "tool",
        content: [{ type: "tool-result", toolCallId: "c1", output: { type: "json", value: { celsius: -3 } } }]
      })
      expect(prompt[5]).toMatchObject({ role: "user", content: [{ type: "text", text: "And tomorrow?" }] })
    }))

  it.effect("a run cut off mid-stream aborts the model's signal; one that ends by itself does not", () =>
    Effect.gen(function*() {
      const signals: Array<AbortSignal> = []
      const started = yield* Deferred.make<void>()
      const endless = new MockLanguageModelV4({
        doStream: async ({ abortSignal }) => {
          if (abortSignal !== undefined) signals.push(abortSignal)
          return {
            stream: new ReadableStream<LanguageModelV4StreamPart>({
              start: (controller) => {
                controller.enqueue({ type: "text-start", id: "t" })
                controller.enqueue({ type: "text-delta", id: "t", delta: "never ending" })
              }
            })
          }
        }
      })
      const req = request("go")
      const fiber = yield* AiSdk.handler(({ abortSignal, messages }) => streamText({ model: endless, messages, abortSignal }))(
        req,
        contextOf(req)
      ).pipe(
        Stream.tap(() => Deferred.succeed(started, undefined)),
        Stream.runDrain,
        Effect.forkChild
      )
      yield* Deferred.await(started)
      expect(signals[0]?.aborted).toBe(false)
      yield* Fiber.interrupt(fiber)
      expect(signals[0]?.aborted).toBe(true)

      const finite = new MockLanguageModelV4({
        doStream: async ({ abortSignal }) => {
          if (abortSignal !== undefined) signals.push(abortSignal)
          return streamOf([...text("t", "done"), finish("stop", 1, 1)])
        }
      })
      yield* runEvents(AiSdk.handler(({ abortSignal, messages }) => streamText({ model: finite, messages, abortSignal })), req)
      expect(signals[1]?.aborted).toBe(false)
    }))
})
