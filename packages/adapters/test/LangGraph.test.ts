/**
 * The LangGraph adapter: on LangChain's fake chat models (tokens, a ReAct
 * agent's tool loop, errors), on a graph that reports what it was given (the
 * history), and end to end through a real agentapp server on `ChatOpenAI`
 * against the test's model server, where a stop or a client that leaves
 * closes the upstream request.
 */
import { LangGraph } from "@agentapp/adapters/langgraph"
import { AgentApp, type Protocol, Runner } from "@agentapp/core"
import { AIMessage, type BaseMessage } from "@langchain/core/messages"
import { tool } from "@langchain/core/tools"
import { FakeStreamingChatModel } from "@langchain/core/utils/testing"
import { END, MessagesAnnotation, START, StateGraph } from "@langchain/langgraph"
import { createReactAgent, ToolNode, toolsCondition } from "@langchain/langgraph/prebuilt"
import { ChatOpenAI } from "@langchain/openai"
import { describe, expect, it, layer } from "@effect/vitest"
import { Effect, Layer, Stream } from "effect"
import { z } from "zod"
import { checkRun } from "../../../test/support/protocol.ts"
import { userText } from "../../../test/support/sse.ts"
import { baseUrl, cancellationTests, completed, contextOf, history, onModelServer, request, runOn } from "./support.ts"

const runEvents = (graph: LangGraph.StreamableGraph, req: Protocol.AgentRequest, history?: ReadonlyArray<Protocol.Message>) => {
  const context = contextOf(req, history)
  return Stream.runCollect(Runner.events(context, LangGraph.handler(graph)(req, context)))
}
const getWeather = tool(async ({ city }: { city: string }) => JSON.stringify({ city, celsius: 8 }), {
  name: "get_weather",
  description: "The weather in a city",
  schema: z.object({ city: z.string() })
})

describe("LangGraph.handler", () => {
  it.effect("a model's tokens stream as text deltas, and make the answer", () =>
    Effect.gen(function*() {
      const llm = new FakeStreamingChatModel({ responses: [new AIMessage("Bergen is at 8 degrees.")] })
      const events = yield* runEvents(createReactAgent({ llm, tools: [] }), request("Weather in Bergen?"))
      expect((events.at(-1) as Protocol.ResponseEvent).status).toBe("completed")
      expect(completed(events, "message").at(-1)!.content![0]).toMatchObject({ type: "text", text: "Bergen is at 8 degrees." })
      // streamed piece by piece, not as one
      expect(events.filter((event) => event.object === "content" && event.delta === true).length).toBeGreaterThan(1)
    }))

  it.effect("a tool loop: the model node's call, LangGraph's ToolNode result, then the answer", () =>
    Effect.gen(function*() {
      let turns = 0
      const graph = new StateGraph(MessagesAnnotation)
        .addNode("model", () => ({
          messages: [
            turns++ === 0
              ? new AIMessage({
                content: "",
                tool_calls: [{ id: "call_1", name: "get_weather", args: { city: "Bergen" }, type: "tool_call" }]
              })
              : new AIMessage("Bergen is at 8 degrees.")
          ]
        }))
        .addNode("tools", new ToolNode([getWeather]))
        .addEdge(START, "model")
        .addConditionalEdges("model", toolsCondition, ["tools", END])
        .addEdge("tools", "model")
        .compile()
      const events = yield* runEvents(graph, request("Weather in Bergen?"))
      expect((events.at(-1) as Protocol.ResponseEvent).status).toBe("completed")
      const [call] = completed(events, "plugin_call")
      expect(call.content![0]).toMatchObject({ data: { call_id: "call_1", name: "get_weather" } })
      expect(JSON.parse((call.content![0] as any).data.arguments)).toEqual({ city: "Bergen" })
      const [result] = completed(events, "plugin_call_output")
      expect(JSON.parse((result.content![0] as any).data.output)).toEqual({ city: "Bergen", celsius: 8 })
      expect(completed(events, "plugin_call").length).toBe(1)
    }))

  it.effect("the history and the input reach the graph as LangChain messages", () =>
    Effect.gen(function*() {
      const seen: Array<Array<BaseMessage>> = []
      const graph = new StateGraph(MessagesAnnotation)
        .addNode("echo", (state) => {
          seen.push(state.messages)
          return { messages: [new AIMessage(`got ${state.messages.length}`)] }
        })
        .addEdge(START, "echo")
        .addEdge("echo", END)
        .compile()
      yield* runEvents(graph, request("And tomorrow?"), history)
      const messages = seen[0]
      expect(messages.map((message) => message.getType())).toEqual(["system", "human", "ai", "tool", "ai", "human"])
      expect((messages[2] as AIMessage).tool_calls).toMatchObject([{ id: "c1", name: "get_weather", args: { city: "Oslo" } }])
      expect(messages[3]).toMatchObject({ tool_call_id: "c1", content: "{\"celsius\":-3}" })
      expect(messages[5].content).toBe("And tomorrow?")
    }))

  it.effect("a model that fails ends the run failed with LangGraphError and its message", () =>
    Effect.gen(function*() {
      const llm = new FakeStreamingChatModel({ thrownErrorString: "the model is overloaded" })
      const events = yield* runEvents(createReactAgent({ llm, tools: [] }), request("hi"))
      const final = events.at(-1) as Protocol.ResponseEvent
      expect(final.status).toBe("failed")
      expect(final.error?.code).toBe("LangGraphError")
      expect(final.error?.message).toContain("the model is overloaded")
    }))
})

// ---- end to end: a ReAct agent on ChatOpenAI, against the test's model server, through a server ----

const { model, server: Server } = onModelServer((fake) => {
  const llm = new ChatOpenAI({ model: "fake-model", apiKey: "test-key", configuration: { baseURL: fake.url }, streaming: true })
  const App = AgentApp.make({ name: "LangGraphAgent" })
  return App.serve(App.query(LangGraph.handler(createReactAgent({ llm, tools: [getWeather] })))).pipe(
    Layer.provide(AgentApp.layerMemory)
  )
})

layer(Server, { excludeTestServices: true })("LangGraph on ChatOpenAI, through a server", (it) => {
  it.effect("runs the tool loop against the model server, and sends the session's first turn with the second", () =>
    Effect.gen(function*() {
      const url = yield* baseUrl
      const session = `s-${crypto.randomUUID()}`
      const events = yield* runOn(url, userText("What is the weather in Paris?", { session_id: session }))
      expect(checkRun(events).status).toBe("completed")
      expect(completed(events, "plugin_call")[0].content![0]).toMatchObject({ data: { name: "get_weather" } })
      expect(completed(events, "message").at(-1)!.content![0]).toMatchObject({ text: expect.stringContaining("The weather in Paris is") })
      yield* runOn(url, userText("Thanks", { session_id: session }))
      const sent = model().requests.at(-1)!.body.messages
      expect(sent.map((message: any) => message.role)).toEqual(["user", "assistant", "tool", "assistant", "user"])
    }))

  it.effect("the model's reasoning_content streams as reasoning, and its usage is the run's", () =>
    Effect.gen(function*() {
      const url = yield* baseUrl
      const events = yield* runOn(url, userText("Please think"))
      const final = checkRun(events)
      expect(final.status).toBe("completed")
      expect(completed(events, "reasoning")[0].content![0]).toMatchObject({ text: "Let me think about it. " })
      expect(completed(events, "message").at(-1)!.content![0]).toMatchObject({ text: "You said: Please think" })
      expect(final.usage.output_tokens).toBeGreaterThan(0)
    }))

  cancellationTests(it, model)
})
