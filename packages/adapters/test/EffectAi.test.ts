/**
 * The effect/ai adapter: against a test `LanguageModel` layer (text,
 * reasoning, a toolkit's call and result, usage, errors, the prompt from the
 * history, interruption), and end to end through a real agentapp server on a
 * `LanguageModel` that calls the test's OpenAI-compatible model server with
 * Effect's `HttpClient` (no effect/ai provider published works with effect
 * 4.1: they import its pre-release `effect/unstable/*` modules), where a stop
 * or a client that leaves closes the upstream request.
 */
import { EffectAi } from "@agentapp/adapters/effect-ai"
import { AgentApp, type Protocol, Runner } from "@agentapp/core"
import { describe, expect, it, layer } from "@effect/vitest"
import { Deferred, Effect, Fiber, Layer, Schema, Stream } from "effect"
import { LanguageModel, type Prompt, Tool, Toolkit } from "effect/ai"
import { FetchHttpClient, HttpClient, HttpClientRequest, HttpClientResponse } from "effect/http"
import { checkRun } from "../../../test/support/protocol.ts"
import { userText } from "../../../test/support/sse.ts"
import { baseUrl, cancellationTests, completed, contextOf, history, onModelServer, request, runOn } from "./support.ts"

const GetWeather = Tool.make("get_weather", {
  description: "The weather in a city",
  parameters: Schema.Struct({ city: Schema.String }),
  success: Schema.Struct({ city: Schema.String, celsius: Schema.Number })
})
const Weather = Toolkit.make(GetWeather)
const WeatherHandlers = Weather.toLayer({ get_weather: ({ city }) => Effect.succeed({ city, celsius: 12 }) })

const usage = (input: number, output: number) => ({ inputTokens: { total: input }, outputTokens: { total: output } })

/** A test model: its stream of encoded parts per call, and the prompts it was given. */
const testModel = (
  calls: ReadonlyArray<Stream.Stream<any, any>>,
  prompts: Array<Prompt.Prompt>
) =>
  Layer.effect(
    LanguageModel.LanguageModel,
    LanguageModel.make({
      generateText: () => Effect.succeed([]),
      streamText: (options) => {
        prompts.push(options.prompt)
        return calls[prompts.length - 1] ?? Stream.empty
      }
    })
  )

describe("EffectAi.handler on a test LanguageModel", () => {
  it.effect("text, reasoning, a toolkit's call and its result, and usage", () =>
    Effect.gen(function*() {
      const prompts: Array<Prompt.Prompt> = []
      const model = testModel([
        Stream.make(
          { type: "reasoning-delta", id: "r", delta: "Checking" },
          { type: "tool-call", id: "call_1", name: "get_weather", params: { city: "Rome" }, providerExecuted: false },
          { type: "text-delta", id: "t", delta: "Looking it up." },
          { type: "finish", reason: "tool-calls", usage: usage(9, 4) }
        )
      ], prompts)
      const handler = EffectAi.handler(({ prompt }) => LanguageModel.streamText({ prompt, toolkit: Weather }))
      const req = request("Weather in Rome?")
      const events = yield* Stream.runCollect(Runner.events(contextOf(req), handler(req, contextOf(req)))).pipe(
        Effect.provide(Layer.merge(model, WeatherHandlers))
      )
      expect((events.at(-1) as Protocol.ResponseEvent).status).toBe("completed")
      expect(completed(events, "reasoning")[0].content![0]).toMatchObject({ text: "Checking" })
      const [call] = completed(events, "plugin_call")
      expect(JSON.parse((call.content![0] as any).data.arguments)).toEqual({ city: "Rome" })
      const [result] = completed(events, "plugin_call_output")
      expect(JSON.parse((result.content![0] as any).data.output)).toEqual({ city: "Rome", celsius: 12 })
      expect(completed(events, "message")[0].content![0]).toMatchObject({ text: "Looking it up." })
      expect((events.at(-1) as Protocol.ResponseEvent).usage).toMatchObject({ input_tokens: 9, output_tokens: 4 })
    }))

  it.effect("the history and the input become the prompt: system, user, tool call, tool result, assistant", () =>
    Effect.gen(function*() {
      const prompts: Array<Prompt.Prompt> = []
      const model = testModel([Stream.make({ type: "text-delta", id: "t", delta: "ok" })], prompts)
      const req = request("And tomorrow?")
      const handler = EffectAi.handler(({ prompt }) => LanguageModel.streamText({ prompt }))
      yield* Stream.runDrain(handler(req, contextOf(req, history))).pipe(Effect.provide(model))
      const content = prompts[0].content
      expect(content.map((message) => message.role)).toEqual(["system", "user", "assistant", "tool", "assistant", "user"])
      expect(content[2].content).toMatchObject([{ type: "tool-call", id: "c1", name: "get_weather", params: { city: "Oslo" } }])
      expect(content[3].content).toMatchObject([{ type: "tool-result", id: "c1", result: { celsius: -3 } }])
    }))

  it.effect("a model that fails ends the run failed with its error's tag and message", () =>
    Effect.gen(function*() {
      const model = testModel([Stream.make({ type: "error", error: new Error("the model went away") })], [])
      const req = request("hi")
      const handler = EffectAi.handler(({ prompt }) => LanguageModel.streamText({ prompt }))
      const events = yield* Stream.runCollect(Runner.events(contextOf(req), handler(req, contextOf(req)))).pipe(
        Effect.provide(model)
      )
      const final = events.at(-1) as Protocol.ResponseEvent
      expect(final.status).toBe("failed")
      expect(final.error).toEqual({ code: "EffectAiError", message: "the model went away" })
    }))

  it.effect("interrupting the run interrupts the model's stream", () =>
    Effect.gen(function*() {
      const started = yield* Deferred.make<void>()
      const interrupted = yield* Deferred.make<void>()
      const endless = Stream.concat(
        Stream.make({ type: "text-delta", id: "t", delta: "forever" }),
        Stream.never
      ).pipe(Stream.onExit((exit) => exit._tag === "Failure" ? Deferred.succeed(interrupted, undefined) : Effect.void))
      const model = testModel([endless], [])
      const req = request("go")
      const handler = EffectAi.handler(({ prompt }) => LanguageModel.streamText({ prompt }))
      const fiber = yield* handler(req, contextOf(req)).pipe(
        Stream.tap(() => Deferred.succeed(started, undefined)),
        Stream.runDrain,
        Effect.provide(model),
        Effect.forkChild
      )
      yield* Deferred.await(started)
      yield* Fiber.interrupt(fiber)
      expect(Deferred.isDoneUnsafe(interrupted)).toBe(true)
    }))
})

// ---- end to end: an agentapp server on a LanguageModel over HTTP, against the test's model server ----

/**
 * A minimal `LanguageModel` on an OpenAI-compatible chat completions API,
 * streamed through Effect's `HttpClient`: text only, for the test.
 */
const chatCompletionsModel = (url: string) =>
  Layer.effect(
    LanguageModel.LanguageModel,
    Effect.gen(function*() {
      const client = yield* HttpClient.HttpClient
      return yield* LanguageModel.make({
        generateText: () => Effect.succeed([]),
        streamText: (options) => {
          const messages = options.prompt.content.map((message) => ({
            role: message.role,
            content: typeof message.content === "string"
              ? message.content
              : message.content.map((part) => part.type === "text" ? part.text : "").join("")
          }))
          const request = HttpClientRequest.post(`${url}/chat/completions`).pipe(
            HttpClientRequest.bodyJsonUnsafe({ model: "fake-model", stream: true, messages })
          )
          return HttpClientResponse.stream(client.execute(request)).pipe(
            Stream.decodeText,
            Stream.splitLines,
            Stream.filter((line) => line.startsWith("data: ") && line !== "data: [DONE]"),
            Stream.map((line) => JSON.parse(line.slice(6)).choices?.[0]?.delta?.content),
            Stream.filter((delta): delta is string => typeof delta === "string" && delta !== ""),
            Stream.map((delta) => ({ type: "text-delta" as const, id: "t", delta })),
            Stream.orDie
          )
        }
      })
    })
  )

const { model, server: Server } = onModelServer((fake) => {
  const App = AgentApp.make({ name: "EffectAiAgent" })
  return App.serve(App.query(EffectAi.handler(({ prompt }) => LanguageModel.streamText({ prompt })))).pipe(
    Layer.provide(AgentApp.layerMemory),
    Layer.provide(chatCompletionsModel(fake.url).pipe(Layer.provide(FetchHttpClient.layer)))
  )
})

layer(Server, { excludeTestServices: true })("EffectAi on a LanguageModel over HTTP, through a server", (it) => {
  it.effect("streams the model's answer, and the second turn sends the first to the model", () =>
    Effect.gen(function*() {
      const url = yield* baseUrl
      const session = `s-${crypto.randomUUID()}`
      const events = yield* runOn(url, userText("My name is Ada", { session_id: session }))
      expect(checkRun(events).status).toBe("completed")
      expect(completed(events, "message")[0].content![0]).toMatchObject({ text: "You said: My name is Ada" })
      yield* runOn(url, userText("Who am I?", { session_id: session }))
      const sent = model().requests.at(-1)!.body.messages
      expect(sent.map((message: any) => message.role)).toEqual(["user", "assistant", "user"])
      expect(JSON.stringify(sent[1])).toContain("You said: My name is Ada")
    }))

  cancellationTests(it, model)
})
