/**
 * The OpenAI Agents SDK adapter, end to end through a real agentapp server:
 * agents on the SDK's chat completions model, against the test's
 * OpenAI-compatible model server (text, a tool loop, a handoff, the history
 * given as input items, a failure), where a stop or a client that leaves
 * closes the upstream request. And the history conversion on its own.
 */
import { OpenAiAgents } from "@agentapp/adapters/openai-agents"
import { AgentApp, type Protocol, Runner } from "@agentapp/core"
import { describe, expect, it, layer } from "@effect/vitest"
import { Agent, OpenAIChatCompletionsModel, OpenAIResponsesModel, tool } from "@openai/agents"
import { Effect, Layer, Stream } from "effect"
import OpenAI from "openai"
import { z } from "zod"
import { checkRun } from "../../../test/support/protocol.ts"
import { userText } from "../../../test/support/sse.ts"
import { baseUrl, cancellationTests, completed, contextOf, history, onModelServer, request, runOn } from "./support.ts"

const getWeather = tool({
  name: "get_weather",
  description: "The weather in a city",
  parameters: z.object({ city: z.string() }),
  execute: async ({ city }) => ({ city, celsius: 17 })
})

describe("OpenAiAgents.toInputItems", () => {
  it("gives the history and the input as the SDK's input items", () => {
    expect(OpenAiAgents.toInputItems(history)).toEqual([
      { role: "system", content: "Be brief." },
      { role: "user", content: "Weather in Oslo?" },
      { type: "function_call", callId: "c1", name: "get_weather", arguments: "{\"city\":\"Oslo\"}", status: "completed" },
      { type: "function_call_result", callId: "c1", name: "get_weather", status: "completed", output: "{\"celsius\":-3}" },
      { role: "assistant", status: "completed", content: [{ type: "output_text", text: "Cold." }] }
    ])
  })
})

const { model, server: Server } = onModelServer((fake) => {
  const client = new OpenAI({ baseURL: fake.url, apiKey: "test-key" })
  const chat = new OpenAIChatCompletionsModel(client, "fake-model")
  const expert = new Agent({ name: "Expert", instructions: "You are the expert.", model: chat })
  const assistant = new Agent({ name: "Assistant", instructions: "You are helpful.", model: chat, tools: [getWeather], handoffs: [expert] })
  const App = AgentApp.make({ name: "AgentsSdkAgent" })
  return App.serve(App.query(OpenAiAgents.handler(assistant))).pipe(Layer.provide(AgentApp.layerMemory))
})

layer(Server, { excludeTestServices: true })("OpenAiAgents on the chat completions model, through a server", (it) => {
  it.effect("a tool loop: the call, its output, the answer, and usage; the next turn sends the first", () =>
    Effect.gen(function*() {
      const url = yield* baseUrl
      const session = `s-${crypto.randomUUID()}`
      const events = yield* runOn(url, userText("What is the weather in Lima?", { session_id: session }))
      const final = checkRun(events)
      expect(final.status).toBe("completed")
      const [call] = completed(events, "plugin_call")
      expect(call.content[0].data.name).toBe("get_weather")
      expect(JSON.parse(call.content[0].data.arguments)).toEqual({ city: "Lima" })
      const [output] = completed(events, "plugin_call_output")
      expect(JSON.parse(output.content[0].data.output)).toEqual({ city: "Lima", celsius: 17 })
      expect(completed(events, "message").at(-1).content[0].text).toContain("The weather in Lima is")
      expect(final.usage.output_tokens).toBeGreaterThan(0)
      yield* runOn(url, userText("Thanks", { session_id: session }))
      const sent = model().requests.at(-1)!.body.messages
      expect(sent.map((message: any) => message.role)).toEqual(["system", "user", "assistant", "tool", "assistant", "user"])
    }))

  it.effect("a handoff is a message naming both agents, and the other agent answers", () =>
    Effect.gen(function*() {
      const url = yield* baseUrl
      const events = yield* runOn(url, userText("Please hand over to the expert"))
      expect(checkRun(events).status).toBe("completed")
      const handoff = completed(events, "message").find((message) => message.content[0].type === "data")
      expect(handoff.content[0].data).toEqual({ handoff: { from: "Assistant", to: "Expert" } })
      expect(completed(events, "message").at(-1).content[0].text).toBe("Here I am.")
      // the expert's model request carried its own instructions
      expect(model().requests.at(-1)!.body.messages[0]).toMatchObject({ role: "system", content: "You are the expert." })
    }))

  it.effect("a model server that refuses the request ends the run failed with OpenAiAgentsError", () =>
    Effect.gen(function*() {
      const client = new OpenAI({ baseURL: model().url.replace(/\/v1$/, "/nowhere"), apiKey: "test-key", maxRetries: 0 })
      const agent = new Agent({ name: "Lost", model: new OpenAIChatCompletionsModel(client, "fake-model") })
      const req = request("hi")
      const events = yield* Stream.runCollect(Runner.events(contextOf(req), OpenAiAgents.handler(agent)(req, contextOf(req))))
      const final = events.at(-1) as Protocol.ResponseEvent
      expect(final.status).toBe("failed")
      expect(final.error?.code).toBe("OpenAiAgentsError")
      expect(final.error?.message).toContain("404")
    }))

  cancellationTests(it, model)
})

// ---- the same agent on the SDK's default, the Responses API ----

const { model: responsesModel, server: ResponsesServer } = onModelServer((fake) => {
  const client = new OpenAI({ baseURL: fake.url, apiKey: "test-key" })
  const assistant = new Agent({
    name: "Assistant",
    instructions: "You are helpful.",
    model: new OpenAIResponsesModel(client, "fake-model"),
    tools: [getWeather]
  })
  const App = AgentApp.make({ name: "AgentsSdkResponses" })
  return App.serve(App.query(OpenAiAgents.handler(assistant))).pipe(Layer.provide(AgentApp.layerMemory))
})

layer(ResponsesServer, { excludeTestServices: true })("OpenAiAgents on the Responses API model, through a server", (it) => {
  it.effect("a tool loop over the Responses API: the call, its output, the streamed answer, usage", () =>
    Effect.gen(function*() {
      const url = yield* baseUrl
      const events = yield* runOn(url, userText("What is the weather in Quito?"))
      const final = checkRun(events)
      expect(final.status).toBe("completed")
      expect(JSON.parse(completed(events, "plugin_call")[0].content[0].data.arguments)).toEqual({ city: "Quito" })
      expect(JSON.parse(completed(events, "plugin_call_output")[0].content[0].data.output)).toEqual({ city: "Quito", celsius: 17 })
      expect(completed(events, "message").at(-1).content[0].text).toContain("The weather in Quito is")
      expect(final.usage.output_tokens).toBeGreaterThan(0)
      expect(responsesModel().requests.every((request) => request.path === "/v1/responses")).toBe(true)
      // the second request carried the function call and its output as input items
      const input = responsesModel().requests.at(-1)!.body.input
      expect(input.map((item: any) => item.type ?? item.role)).toContain("function_call_output")
    }))

  it.effect("reasoning summaries stream as a reasoning message before the answer", () =>
    Effect.gen(function*() {
      const url = yield* baseUrl
      const events = yield* runOn(url, userText("Please think"))
      expect(checkRun(events).status).toBe("completed")
      expect(completed(events, "reasoning")[0].content[0].text).toBe("Let me think about it. ")
      expect(completed(events, "message").at(-1).content[0].text).toBe("You said: Please think")
    }))

  cancellationTests(it, responsesModel)
})
