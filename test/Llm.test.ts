/**
 * examples/llm.ts (the AI SDK adapter on an OpenAI-compatible model) run as
 * `npm run start:llm` does, against the test's own model server: the tool
 * loop, reasoning, the session's history sent to the model, and a stop or a
 * client that leaves closing the model request upstream.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type FakeModel, startFakeModel } from "./support/fakeModel.ts"
import { checkRun } from "./support/protocol.ts"
import { nodeBin, type ServerProcess, startServer, within } from "./support/server.ts"
import { dataOf, parseFrames, postJson, readStream, userText } from "./support/sse.ts"

let model: FakeModel
let server: ServerProcess

beforeAll(async () => {
  model = await startFakeModel({ tokenMs: 50 })
  server = await startServer("npm", ["run", "start:llm", "--silent"], {
    env: { OPENAI_BASE_URL: model.url, OPENAI_API_KEY: "test-key", OPENAI_MODEL: "fake-model" }
  })
})

afterAll(async () => {
  server?.kill("SIGTERM")
  if (server) await within(10_000, "start:llm to exit", server.exited)
  await model?.close()
})

const run = async (body: unknown) => {
  const response = await postJson(`${server.url}/process`, body)
  expect(response.status).toBe(200)
  return dataOf(parseFrames(await response.text()))
}

const messagesOf = (events: ReadonlyArray<any>, type: string) =>
  events.filter((event) => event.object === "message" && event.status === "completed" && event.type === type)

/** Sends a slow answer's request and resolves once its first text delta arrived. */
const slowRun = async (session: string, init?: RequestInit) => {
  const response = await postJson(`${server.url}/process`, userText("Count slowly 200", { session_id: session }), init)
  let sawText!: () => void
  const firstText = new Promise<void>((resolve) => (sawText = resolve))
  const done = readStream(response, (event) => {
    if (event.object === "content" && event.delta === true) sawText()
  })
  return { firstText, done }
}

describe("examples/llm.ts on an OpenAI-compatible model", () => {
  it("runs the tool loop: a get_weather call, its result, then the answer; the model is called twice", async () => {
    const before = model.requests.length
    const events = await run(userText("What is the weather in Paris?", { session_id: "weather" }))
    const response = checkRun(events)
    expect(response.status).toBe("completed")
    const [call] = messagesOf(events, "plugin_call")
    expect(JSON.parse(call.content[0].data.arguments)).toEqual({ city: "Paris" })
    expect(call.content[0].data.name).toBe("get_weather")
    const [result] = messagesOf(events, "plugin_call_output")
    expect(JSON.parse(result.content[0].data.output)).toEqual({ city: "Paris", sky: "sunny", celsius: 21 })
    const answer = messagesOf(events, "message").at(-1)
    expect(answer.content.find((part: any) => part.type === "text").text).toContain("The weather in Paris is")
    expect(response.usage.output_tokens).toBeGreaterThan(0)
    // the second model request carried the tool's result
    expect(model.requests.length - before).toBe(2)
    const second = model.requests.at(-1)!.body
    expect(second.messages.at(-1)).toMatchObject({ role: "tool", tool_call_id: "call_1" })
  })

  it("streams reasoning, and the second turn of a session sends the first turn to the model", async () => {
    const session = `memory-${crypto.randomUUID()}`
    const first = await run(userText("My name is Ada. Please think", { session_id: session }))
    expect(checkRun(first).status).toBe("completed")
    expect(messagesOf(first, "reasoning")[0].content[0].text).toBe("Let me think about it. ")
    await run(userText("And what is my name?", { session_id: session }))
    const sent = model.requests.at(-1)!.body.messages
    expect(sent.map((message: any) => message.role)).toEqual(["system", "user", "assistant", "user"])
    expect(JSON.stringify(sent[1])).toContain("My name is Ada")
    expect(JSON.stringify(sent[2])).toContain("You said: My name is Ada. Please think")
  })

  it("a stop mid-stream closes the model request within a second, and the run ends canceled", async () => {
    const session = `stop-${crypto.randomUUID()}`
    const { done, firstText } = await slowRun(session)
    await within(10_000, "the first text delta", firstText)
    const upstream = model.requests.at(-1)!
    const stop = await postJson(`${server.url}/stop`, { session_id: session })
    expect(stop.status).toBe(200)
    expect(await within(1_000, "the model request to close", upstream.closedEarly)).toBe(true)
    const events = dataOf(await done)
    expect(checkRun(events).status).toBe("canceled")
  })

  it("a client that disconnects mid-stream closes the model request within a second", async () => {
    const controller = new AbortController()
    const { done, firstText } = await slowRun(`leave-${crypto.randomUUID()}`, { signal: controller.signal })
    await within(10_000, "the first text delta", firstText)
    const upstream = model.requests.at(-1)!
    controller.abort()
    await done.catch(() => undefined)
    expect(await within(1_000, "the model request to close", upstream.closedEarly)).toBe(true)
  })

  it("a model server that refuses the request ends the run failed with the provider's message", async () => {
    // the model's URL without /v1: the server answers 404 with an OpenAI-style error
    const refused = await startServer(nodeBin, ["--disable-warning=ExperimentalWarning", "examples/llm.ts"], {
      env: { OPENAI_BASE_URL: model.url.replace(/\/v1$/, "/nowhere"), OPENAI_API_KEY: "test-key" }
    })
    try {
      const response = await postJson(`${refused.url}/process`, userText("Hello"))
      const events = dataOf(parseFrames(await response.text()))
      const final = checkRun(events)
      expect(final.status).toBe("failed")
      expect(final.error.code).toBe("AiSdkError")
      expect(final.error.message).toContain("No route")
    } finally {
      refused.kill("SIGTERM")
      await within(10_000, "the server to exit", refused.exited)
    }
  })

  it("without OPENAI_API_KEY it refuses to start, saying what to set", async () => {
    const env: Record<string, string | undefined> = { ...process.env, PORT: "0", OPENAI_BASE_URL: model.url }
    delete env.OPENAI_API_KEY
    const { spawnSync } = await import("node:child_process")
    const result = spawnSync(nodeBin, ["--disable-warning=ExperimentalWarning", "examples/llm.ts"], {
      cwd: new URL("..", import.meta.url).pathname,
      env,
      encoding: "utf8",
      timeout: 30_000
    })
    expect(result.status).toBe(1)
    expect(result.stderr).toContain("OPENAI_API_KEY is not set")
  })
})
