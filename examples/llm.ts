/**
 * An agent on a real model: any OpenAI-compatible chat model (OpenAI, a local
 * vLLM or Ollama, DeepSeek, Qwen, ...), written with the Vercel AI SDK, with a
 * local tool. It streams the model's reasoning (where the model gives it), its
 * tool calls and their results, and the answer; the session's earlier turns
 * are sent to the model; a stop aborts the model request.
 *
 *   OPENAI_API_KEY=sk-... npm run start:llm
 *   OPENAI_BASE_URL=http://127.0.0.1:11434/v1 OPENAI_MODEL=qwen3 OPENAI_API_KEY=unused npm run start:llm
 */
import { AiSdk } from "@agentapp/adapters/ai-sdk"
import { AgentApp } from "@agentapp/core"
import { createOpenAICompatible } from "@ai-sdk/openai-compatible"
import { isStepCount, jsonSchema, streamText, tool } from "ai"
import { Config, Layer, Option, Redacted } from "effect"
import { listen, setting } from "./main.ts"

const model = setting(Config.all({
  baseURL: Config.String("OPENAI_BASE_URL").pipe(Config.withDefault("https://api.openai.com/v1")),
  apiKey: Config.option(Config.Redacted("OPENAI_API_KEY")),
  name: Config.String("OPENAI_MODEL").pipe(Config.withDefault("gpt-4o-mini"))
}))
if (Option.isNone(model.apiKey)) {
  console.error(
    "Configuration error: OPENAI_API_KEY is not set. It is the model server's API key " +
      "(any value for a local server that takes none); OPENAI_BASE_URL and OPENAI_MODEL choose the server and model."
  )
  process.exit(1)
}

const provider = createOpenAICompatible({
  name: "openai-compatible",
  baseURL: model.baseURL,
  apiKey: Redacted.value(model.apiKey.value),
  includeUsage: true
})

/** A local tool: fixed data, so that the example needs no other service. */
const getWeather = tool({
  description: "The current weather in a city",
  inputSchema: jsonSchema<{ city: string }>({
    type: "object",
    properties: { city: { type: "string", description: "The city, e.g. Paris" } },
    required: ["city"]
  }),
  execute: async ({ city }) => ({ city, sky: "sunny", celsius: 21 })
})

export const Assistant = AgentApp.make({
  name: "Assistant",
  description: `An assistant on ${model.name}, with a weather tool`
})

export const Query = Assistant.query(AiSdk.handler(({ abortSignal, instructions, messages }) =>
  streamText({
    model: provider.chatModel(model.name),
    // a client's own system messages come after ours
    instructions: [
      "You are a helpful assistant. Use the get_weather tool for questions about the weather.",
      ...instructions
    ].join("\n\n"),
    messages,
    tools: { get_weather: getWeather },
    // the tool loop: call the tool, read its result, answer
    stopWhen: isStepCount(5),
    abortSignal
  })
))

export const Main = Assistant.serve(Query).pipe(
  Layer.provide(listen(8090)),
  Layer.provide(AgentApp.layerMemory)
)

if (AgentApp.isMain(import.meta)) AgentApp.runMain(Main)
