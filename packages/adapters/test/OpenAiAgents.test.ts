/**
 * The OpenAI Agents SDK adapter, end to end through a real agentapp server:
 * agents on the SDK's chat completions model, against the test's
 * OpenAI-compatible model server (text, a tool loop, a handoff, the history
 * given as input items, a failure), where a stop or a client that leaves
 * closes the upstream request. And the history conversion on its own.
 */
import { OpenAiAgents } from "@agentapp/adapters/openai-agents"
import { AgentApp, type Protocol, Runner } from "@agentapp/core"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { describe, expect, it, layer } from "@effect/vitest"
import { Agent, OpenAIChatCompletionsModel, OpenAIResponsesModel, tool } from "@openai/agents"
import { Effect, Layer, Stream } from "effect"
import { HttpServer } from "effect/http"
import { createServer } from "node:http"
import OpenAI from "openai"
import { z } from "zod"
import { type FakeModel, startFakeModel } from "../../../test/support/fakeModel.ts"
import { checkRun } from "../../../test/support/protocol.ts"
import { within } from "../../../test/support/server.ts"
import { dataOf, parseFrames, postJson, readStream, userText } from "../../../test/support/sse.ts"

const getWeather = tool({
  name: "get_weather",
  description: "The weather in a city",
  parameters: z.object({ city: z.string() }),
  execute: async ({ city }) => ({ city, celsius: 17 })
})

const completed = (events: ReadonlyArray<any>, type: string) =>
  events.filter((event) => event.object === "message" && event.status === "completed" && event.type === type)

describe("OpenAiAgents.toInputItems", () => {
  it("gives the history and the input as the SDK's input items", () => {
    const messages: Array<Protocol.Message> = [
      { role: "system", type: "message", content: [{ type: "text", text: "Be brief." }] },
      { role: "user", type: "message", content: [{ type: "text", text: "Weather in Oslo?" }] },
      { role: "assistant", type: "reasoning", content: [{ type: "text", text: "hidden" }] },
      {
        role: "assistant",
        type: "plugin_call",
        content: [{ type: "data", data: { call_id: "c1", name: "get_weather", arguments: "{\"city\":\"Oslo\"}" } }]
      },
      {
        role: "tool",
        type: "plugin_call_output",
        content: [{ type: "data", data: { call_id: "c1", name: "get_weather", output: "{\"celsius\":-3}" } }]
      },
      { role: "assistant", type: "message", content: [{ type: "text", text: "Cold." }] }
    ]
    expect(OpenAiAgents.toInputItems(messages)).toEqual([
      { role: "system", content: "Be brief." },
      { role: "user", content: "Weather in Oslo?" },
      { type: "function_call", callId: "c1", name: "get_weather", arguments: "{\"city\":\"Oslo\"}", status: "completed" },
      { type: "function_call_result", callId: "c1", name: "get_weather", status: "completed", output: "{\"celsius\":-3}" },
      { role: "assistant", status: "completed", content: [{ type: "output_text", text: "Cold." }] }
    ])
  })
})

let model: FakeModel | undefined
const Server = Layer.unwrap(Effect.map(
  Effect.acquireRelease(Effect.promise(() => startFakeModel({ tokenMs: 50 })), (fake) => Effect.promise(() => fake.close())),
  (fake) => {
    model = fake
    const client = new OpenAI({ baseURL: fake.url, apiKey: "test-key" })
    const chat = new OpenAIChatCompletionsModel(client, "fake-model")
    const expert = new Agent({ name: "Expert", instructions: "You are the expert.", model: chat })
    const assistant = new Agent({
      name: "Assistant",
      instructions: "You are helpful.",
      model: chat,
      tools: [getWeather],
      handoffs: [expert]
    })
    const App = AgentApp.make({ name: "AgentsSdkAgent" })
    return App.serve(App.query(OpenAiAgents.handler(assistant))).pipe(Layer.provide(AgentApp.layerMemory))
  }
)).pipe(Layer.provideMerge(NodeHttpServer.layer(createServer, { port: 0, host: "127.0.0.1" })))
const baseUrl = HttpServer.addressFormattedWith((url) => Effect.succeed(url))
const run = (url: string, body: unknown) =>
  Effect.promise(() => postJson(`${url}/process`, body).then(async (r) => dataOf(parseFrames(await r.text()))))

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

layer(Server, { excludeTestServices: true })("OpenAiAgents on the chat completions model, through a server", (it) => {
  it.effect("a tool loop: the call, its output, the answer, and usage; the next turn sends the first", () =>
    Effect.gen(function*() {
      const url = yield* baseUrl
      const session = `s-${crypto.randomUUID()}`
      const events = yield* run(url, userText("What is the weather in Lima?", { session_id: session }))
      const final = checkRun(events)
      expect(final.status).toBe("completed")
      const [call] = completed(events, "plugin_call")
      expect(call.content[0].data.name).toBe("get_weather")
      expect(JSON.parse(call.content[0].data.arguments)).toEqual({ city: "Lima" })
      const [output] = completed(events, "plugin_call_output")
      expect(JSON.parse(output.content[0].data.output)).toEqual({ city: "Lima", celsius: 17 })
      expect(completed(events, "message").at(-1).content[0].text).toContain("The weather in Lima is")
      expect(final.usage.output_tokens).toBeGreaterThan(0)
      yield* run(url, userText("Thanks", { session_id: session }))
      const sent = model!.requests.at(-1)!.body.messages
      expect(sent.map((message: any) => message.role)).toEqual(["system", "user", "assistant", "tool", "assistant", "user"])
    }))

  it.effect("a handoff is a message naming both agents, and the other agent answers", () =>
    Effect.gen(function*() {
      const url = yield* baseUrl
      const events = yield* run(url, userText("Please hand over to the expert"))
      expect(checkRun(events).status).toBe("completed")
      const handoff = completed(events, "message").find((message) => message.content[0].type === "data")
      expect(handoff.content[0].data).toEqual({ handoff: { from: "Assistant", to: "Expert" } })
      expect(completed(events, "message").at(-1).content[0].text).toBe("Here I am.")
      // the expert's model request carried its own instructions
      expect(model!.requests.at(-1)!.body.messages[0]).toMatchObject({ role: "system", content: "You are the expert." })
    }))

  it.effect("a model server that refuses the request ends the run failed with OpenAiAgentsError", () =>
    Effect.gen(function*() {
      const client = new OpenAI({ baseURL: model!.url.replace(/\/v1$/, "/nowhere"), apiKey: "test-key", maxRetries: 0 })
      const agent = new Agent({ name: "Lost", model: new OpenAIChatCompletionsModel(client, "fake-model") })
      const request = userText("hi") as Protocol.AgentRequest
      const context = { request, responseId: "r", sessionId: "s", userId: "u", key: { userId: "u", sessionId: "s" }, history: [] }
      const events = yield* Stream.runCollect(Runner.events(context, OpenAiAgents.handler(agent)(request, context)))
      const final = events.at(-1) as Protocol.ResponseEvent
      expect(final.status).toBe("failed")
      expect(final.error?.code).toBe("OpenAiAgentsError")
      expect(final.error?.message).toContain("404")
    }))

  it.effect("a stop mid-stream closes the model request within a second", () =>
    Effect.gen(function*() {
      const url = yield* baseUrl
      const session = `stop-${crypto.randomUUID()}`
      const { done, firstText } = yield* slowRun(url, session)
      yield* Effect.promise(() => within(10_000, "the first text delta", firstText))
      const upstream = model!.requests.at(-1)!
      expect((yield* Effect.promise(() => postJson(`${url}/stop`, { session_id: session }))).status).toBe(200)
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

// ---- the same agent on the SDK's default, the Responses API ----

let responsesModel: FakeModel | undefined
const ResponsesServer = Layer.unwrap(Effect.map(
  Effect.acquireRelease(Effect.promise(() => startFakeModel({ tokenMs: 50 })), (fake) => Effect.promise(() => fake.close())),
  (fake) => {
    responsesModel = fake
    const client = new OpenAI({ baseURL: fake.url, apiKey: "test-key" })
    const assistant = new Agent({
      name: "Assistant",
      instructions: "You are helpful.",
      model: new OpenAIResponsesModel(client, "fake-model"),
      tools: [getWeather]
    })
    const App = AgentApp.make({ name: "AgentsSdkResponses" })
    return App.serve(App.query(OpenAiAgents.handler(assistant))).pipe(Layer.provide(AgentApp.layerMemory))
  }
)).pipe(Layer.provideMerge(NodeHttpServer.layer(createServer, { port: 0, host: "127.0.0.1" })))

layer(ResponsesServer, { excludeTestServices: true })("OpenAiAgents on the Responses API model, through a server", (it) => {
  it.effect("a tool loop over the Responses API: the call, its output, the streamed answer, usage", () =>
    Effect.gen(function*() {
      const url = yield* baseUrl
      const events = yield* run(url, userText("What is the weather in Quito?"))
      const final = checkRun(events)
      expect(final.status).toBe("completed")
      expect(JSON.parse(completed(events, "plugin_call")[0].content[0].data.arguments)).toEqual({ city: "Quito" })
      expect(JSON.parse(completed(events, "plugin_call_output")[0].content[0].data.output)).toEqual({ city: "Quito", celsius: 17 })
      expect(completed(events, "message").at(-1).content[0].text).toContain("The weather in Quito is")
      expect(final.usage.output_tokens).toBeGreaterThan(0)
      expect(responsesModel!.requests.every((request) => request.path === "/v1/responses")).toBe(true)
      // the second request carried the function call and its output as input items
      const input = responsesModel!.requests.at(-1)!.body.input
      expect(input.map((item: any) => item.type ?? item.role)).toContain("function_call_output")
    }))

  it.effect("reasoning summaries stream as a reasoning message before the answer", () =>
    Effect.gen(function*() {
      const url = yield* baseUrl
      const events = yield* run(url, userText("Please think"))
      expect(checkRun(events).status).toBe("completed")
      expect(completed(events, "reasoning")[0].content[0].text).toBe("Let me think about it. ")
      expect(completed(events, "message").at(-1).content[0].text).toBe("You said: Please think")
    }))

  it.effect("a stop mid-stream closes the Responses API request within a second", () =>
    Effect.gen(function*() {
      const url = yield* baseUrl
      const session = `stop-${crypto.randomUUID()}`
      const { done, firstText } = yield* slowRun(url, session)
      yield* Effect.promise(() => within(10_000, "the first text delta", firstText))
      const upstream = responsesModel!.requests.at(-1)!
      expect((yield* Effect.promise(() => postJson(`${url}/stop`, { session_id: session }))).status).toBe(200)
      expect(yield* Effect.promise(() => within(1_000, "the model request to close", upstream.closedEarly))).toBe(true)
      expect(checkRun(dataOf(yield* Effect.promise(() => done))).status).toBe("canceled")
    }))
})
