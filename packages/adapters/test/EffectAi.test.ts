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
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { describe, expect, it, layer } from "@effect/vitest"
import { Deferred, Effect, Fiber, Layer, Schema, Stream } from "effect"
import { LanguageModel, type Prompt, Tool, Toolkit } from "effect/ai"
import { FetchHttpClient, HttpClient, HttpClientRequest, HttpClientResponse, HttpServer } from "effect/http"
import { createServer } from "node:http"
import { type FakeModel, startFakeModel } from "../../../test/support/fakeModel.ts"
import { checkRun } from "../../../test/support/protocol.ts"
import { within } from "../../../test/support/server.ts"
import { dataOf, parseFrames, postJson, readStream, userText } from "../../../test/support/sse.ts"

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

const request = (text: string): Protocol.AgentRequest => ({ input: [{ role: "user", content: [{ type: "text", text }] }] })
const contextOf = (req: Protocol.AgentRequest, history: ReadonlyArray<Protocol.Message> = []): AgentApp.QueryContext => ({
  request: req,
  responseId: "response_1",
  sessionId: "s",
  userId: "u",
  key: { userId: "u", sessionId: "s" },
  history
})

const completed = (events: ReadonlyArray<Protocol.Event>, type: string) =>
  events.filter((event): event is Protocol.MessageEvent =>
    event.object === "message" && event.status === "completed" && event.type === type
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
      const history: Array<Protocol.Message> = [
        { role: "system", type: "message", content: [{ type: "text", text: "Be brief." }] },
        { role: "user", type: "message", content: [{ type: "text", text: "Weather in Rome?" }] },
        { role: "assistant", type: "reasoning", content: [{ type: "text", text: "hidden" }] },
        {
          role: "assistant",
          type: "plugin_call",
          content: [{ type: "data", data: { call_id: "c1", name: "get_weather", arguments: "{\"city\":\"Rome\"}" } }]
        },
        {
          role: "tool",
          type: "plugin_call_output",
          content: [{ type: "data", data: { call_id: "c1", name: "get_weather", output: "{\"celsius\":12}" } }]
        },
        { role: "assistant", type: "message", content: [{ type: "text", text: "Mild." }] }
      ]
      const req = request("And tomorrow?")
      const handler = EffectAi.handler(({ prompt }) => LanguageModel.streamText({ prompt }))
      yield* Stream.runDrain(handler(req, contextOf(req, history))).pipe(Effect.provide(model))
      const content = prompts[0].content
      expect(content.map((message) => message.role)).toEqual(["system", "user", "assistant", "tool", "assistant", "user"])
      expect(content[2].content).toMatchObject([{ type: "tool-call", id: "c1", name: "get_weather", params: { city: "Rome" } }])
      expect(content[3].content).toMatchObject([{ type: "tool-result", id: "c1", result: { celsius: 12 } }])
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

let model: FakeModel | undefined
const Model = Layer.unwrap(Effect.map(
  Effect.acquireRelease(Effect.promise(() => startFakeModel({ tokenMs: 50 })), (fake) => Effect.promise(() => fake.close())),
  (fake) => {
    model = fake
    return chatCompletionsModel(fake.url).pipe(Layer.provide(FetchHttpClient.layer))
  }
))
const App = AgentApp.make({ name: "EffectAiAgent" })
const Query = App.query(EffectAi.handler(({ prompt }) => LanguageModel.streamText({ prompt })))
const Server = App.serve(Query).pipe(
  Layer.provide(AgentApp.layerMemory),
  Layer.provide(Model),
  Layer.provideMerge(NodeHttpServer.layer(createServer, { port: 0, host: "127.0.0.1" }))
)
const baseUrl = HttpServer.addressFormattedWith((url) => Effect.succeed(url))

/** A slow answer's run, resolving `firstText` at its first text delta. */
const slowRun = (url: string, session: string, init?: RequestInit) =>
  Effect.promise(async () => {
    const response = await postJson(`${url}/process`, userText("Count slowly 200", { session_id: session }), init)
    let sawText!: () => void
    const firstText = new Promise<void>((resolve) => (sawText = resolve))
    const done = readStream(response, (event) => {
      if (event.object === "content" && event.delta === true) sawText()
    })
    return { firstText, done }
  })

layer(Server, { excludeTestServices: true })("EffectAi on a LanguageModel over HTTP, through a server", (it) => {
  it.effect("streams the model's answer, and the second turn sends the first to the model", () =>
    Effect.gen(function*() {
      const url = yield* baseUrl
      const session = `s-${crypto.randomUUID()}`
      const first = yield* Effect.promise(() =>
        postJson(`${url}/process`, userText("My name is Ada", { session_id: session })).then((r) => r.text())
      )
      const events = dataOf(parseFrames(first))
      expect(checkRun(events).status).toBe("completed")
      expect(completed(events, "message")[0].content![0]).toMatchObject({ text: "You said: My name is Ada" })
      yield* Effect.promise(() => postJson(`${url}/process`, userText("Who am I?", { session_id: session })).then((r) => r.text()))
      const sent = model!.requests.at(-1)!.body.messages
      expect(sent.map((message: any) => message.role)).toEqual(["user", "assistant", "user"])
      expect(JSON.stringify(sent[1])).toContain("You said: My name is Ada")
    }))

  it.effect("a stop mid-stream closes the model request within a second", () =>
    Effect.gen(function*() {
      const url = yield* baseUrl
      const session = `stop-${crypto.randomUUID()}`
      const { done, firstText } = yield* slowRun(url, session)
      yield* Effect.promise(() => within(10_000, "the first text delta", firstText))
      const upstream = model!.requests.at(-1)!
      const stop = yield* Effect.promise(() => postJson(`${url}/stop`, { session_id: session }))
      expect(stop.status).toBe(200)
      expect(yield* Effect.promise(() => within(1_000, "the model request to close", upstream.closedEarly))).toBe(true)
      expect(checkRun(dataOf(yield* Effect.promise(() => done))).status).toBe("canceled")
    }))

  it.effect("a client that disconnects mid-stream closes the model request within a second", () =>
    Effect.gen(function*() {
      const url = yield* baseUrl
      const controller = new AbortController()
      const { done, firstText } = yield* slowRun(url, `leave-${crypto.randomUUID()}`, { signal: controller.signal })
      yield* Effect.promise(() => within(10_000, "the first text delta", firstText))
      const upstream = model!.requests.at(-1)!
      controller.abort()
      yield* Effect.promise(() => done.catch(() => undefined))
      expect(yield* Effect.promise(() => within(1_000, "the model request to close", upstream.closedEarly))).toBe(true)
    }))
})
