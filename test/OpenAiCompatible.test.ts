/**
 * The OpenAI-compatible endpoints of `npm start` (Friday), with the official
 * `openai` client: Responses (streamed and not, a session continued with
 * `previous_response_id`, a cancel), Chat Completions (streamed and not, an
 * aborted stream stopping the run), the models list, and bad requests
 * answered with OpenAI's error object.
 */
import OpenAI from "openai"
import { beforeAll, describe, expect, it } from "vitest"
import { useFriday, waitFor } from "./support/server.ts"
import { readmeShellBlocks, runShell } from "./support/shell.ts"

const server = useFriday()
let client: OpenAI

beforeAll(async () => {
  client = new OpenAI({ baseURL: `${server.url}/compatible-mode/v1`, apiKey: "unused", maxRetries: 0 })
})

const activeRuns = () => fetch(`${server.url}/health`).then((reply) => reply.json()).then((body: any) => body.active_runs as number)

describe("OpenAI Responses API", () => {
  it("answers a whole Response: Friday's reasoning, tool call and text, with usage", async () => {
    const response = await client.responses.create({ model: "friday", input: "Hello Friday" })
    expect(response.status).toBe("completed")
    expect(response.model).toBe("friday")
    expect(response.output_text).toContain("Hello, I am Friday!")
    expect(response.output.map((item) => item.type)).toEqual(["reasoning", "function_call", "message"])
    expect(response.output[1]).toMatchObject({ type: "function_call", name: "word_stats" })
    expect(response.usage?.output_tokens).toBeGreaterThan(0)
  })

  it("streams the response.* events in order, numbered without gaps, text deltas adding up to the answer", async () => {
    const stream = await client.responses.create({ model: "friday", input: "Hello Friday", stream: true })
    const events: Array<any> = []
    for await (const event of stream) events.push(event)
    expect(events[0].type).toBe("response.created")
    expect(events[1].type).toBe("response.in_progress")
    expect(events.at(-1).type).toBe("response.completed")
    expect(events.map((event) => event.sequence_number)).toEqual(events.map((_, i) => i))
    const text = events.filter((event) => event.type === "response.output_text.delta").map((event) => event.delta).join("")
    expect(text).toBe(events.at(-1).response.output_text)
    expect(events.some((event) => event.type === "response.reasoning_summary_text.delta")).toBe(true)
    const call = events.find((event) => event.type === "response.output_item.done" && event.item.type === "function_call")
    expect(JSON.parse(call.item.arguments)).toEqual({ text: "Hello Friday" })
  })

  it("previous_response_id continues the session: Friday remembers the name", async () => {
    const first = await client.responses.create({ model: "friday", input: "My name is Ada" })
    const second = await client.responses.create({ model: "friday", input: "Who am I?", previous_response_id: first.id })
    expect(second.output_text).toContain("Your name is Ada")
    const fresh = await client.responses.create({ model: "friday", input: "Who am I?" })
    expect(fresh.output_text).not.toContain("Ada")
  })

  it("a cancel mid-stream stops the run: the stream ends incomplete, and the session takes a new turn", async () => {
    const stream = await client.responses.create({ model: "friday", input: "Tell me a long story", stream: true })
    let id: string | undefined
    let last: any
    let canceled = false
    for await (const event of stream) {
      last = event
      if (event.type === "response.created") id = event.response.id
      if (event.type === "response.output_text.delta" && !canceled) {
        canceled = true
        const cancel = await client.responses.cancel(id!)
        expect(cancel.status).toBe("cancelled")
      }
    }
    expect(last.type).toBe("response.incomplete")
    expect(last.response.status).toBe("cancelled")
    const next = await client.responses.create({ model: "friday", input: "Hello again", previous_response_id: id! })
    expect(next.status).toBe("completed")
  })
})

describe("OpenAI Chat Completions", () => {
  it("answers a whole completion, with the reasoning beside the content", async () => {
    const completion = await client.chat.completions.create({
      model: "friday",
      messages: [{ role: "system", content: "Be friendly." }, { role: "user", content: "Hello Friday" }]
    })
    const message = completion.choices[0].message as any
    expect(message.content).toContain("Hello, I am Friday!")
    expect(message.reasoning_content).toContain("word_stats")
    expect(completion.usage?.completion_tokens).toBeGreaterThan(0)
  })

  it("streams chunks: content deltas, the tool call, a stop, usage, then [DONE]", async () => {
    const stream = await client.chat.completions.create({
      model: "friday",
      messages: [{ role: "user", content: "Hello Friday" }],
      stream: true,
      stream_options: { include_usage: true }
    })
    const chunks: Array<any> = []
    for await (const chunk of stream) chunks.push(chunk)
    const text = chunks.flatMap((chunk) => chunk.choices.map((choice: any) => choice.delta.content ?? "")).join("")
    expect(text).toContain("Hello, I am Friday!")
    expect(chunks.some((chunk) => chunk.choices[0]?.delta.tool_calls?.[0].function.name === "word_stats")).toBe(true)
    expect(chunks.some((chunk) => chunk.choices[0]?.finish_reason === "stop")).toBe(true)
    expect(chunks.at(-1).usage.completion_tokens).toBeGreaterThan(0)
  })

  it("aborting the stream stops the run on the server", async () => {
    const stream = await client.chat.completions.create({
      model: "friday",
      messages: [{ role: "user", content: "Tell me a long story" }],
      stream: true
    })
    for await (const chunk of stream) {
      if ((chunk.choices[0]?.delta.content ?? "") !== "") break // leaving the loop aborts the request
    }
    await waitFor("the run to stop", async () => (await activeRuns()) === 0, 1_000)
  })
})

describe("the README", () => {
  it("its curl command streams Chat Completions chunks from Friday, ending with [DONE]", async () => {
    const curl = readmeShellBlocks().find((block) => block.includes("/compatible-mode/v1/chat/completions"))
    expect(curl, "the README has a curl command for /chat/completions").toBeDefined()
    const output = await runShell(curl!.replace("127.0.0.1:8090", `127.0.0.1:${new URL(server.url).port}`))
    const frames = output.split("\n\n").filter((frame) => frame.startsWith("data: "))
    expect(frames.at(-1)).toBe("data: [DONE]")
    const text = frames.slice(0, -1).map((frame) => JSON.parse(frame.slice(6)))
      .flatMap((chunk) => chunk.choices.map((choice: any) => choice.delta.content ?? "")).join("")
    expect(text).toContain("Hello, I am Friday!")
  })
})

describe("the rest of the API", () => {
  it("lists the app as its one model", async () => {
    const models = await client.models.list()
    expect(models.data.map((model) => model.id)).toEqual(["Friday"])
  })

  const base = () => `${server.url}/compatible-mode/v1`
  const send = (path: string, body: string, contentType = "application/json") =>
    fetch(`${base()}${path}`, { method: "POST", headers: { "content-type": contentType }, body })
  const cases: Array<readonly [string, string, string, string?]> = [
    ["/responses", "not json", "not JSON"],
    ["/responses", "{}", "no input"],
    ["/responses", "[]", "an array"],
    ["/responses", "{\"input\": 42}", "a number as input"],
    ["/responses", "{\"input\": [42]}", "a number as an item"],
    ["/responses", "{\"input\": []}", "no message"],
    ["/responses", "{\"input\": [{\"role\": \"robot\", \"content\": \"hi\"}]}", "an unknown role"],
    ["/responses", "{\"input\": \"hi\", \"stream\": \"yes\"}", "stream not a boolean"],
    ["/responses", "{\"input\": \"hi\", \"previous_response_id\": \"resp_123\"}", "a previous response of another server"],
    ["/responses", "{\"input\": \"hi\", \"instructions\": 7}", "instructions not a string"],
    ["/responses", "{\"input\": \"hi\"}", "a text content type", "text/plain"],
    ["/responses", `{"input": ${"[".repeat(100)}${"]".repeat(100)}}`, "nested too deep"],
    ["/chat/completions", "{}", "no messages"],
    ["/chat/completions", "{\"messages\": \"hi\"}", "messages a string"],
    ["/chat/completions", "{\"messages\": []}", "no message"],
    ["/chat/completions", "{\"messages\": [{\"role\": \"tool\", \"content\": \"x\"}]}", "only a tool message"],
    ["/chat/completions", "{\"messages\": [{\"role\": 1}]}", "a role that is a number"],
    ["/chat/completions", "{\"messages\": [{\"role\": \"user\", \"content\": 5}]}", "content a number"],
    ["/chat/completions", "nope", "not JSON"],
    ["/responses/resp_nothing/cancel", "{}", "a cancel of an unknown response"]
  ]
  it(`refuses ${cases.length} malformed requests with a 4xx and OpenAI's error object, and goes on serving`, async () => {
    for (const [path, body, what, contentType] of cases) {
      const reply = await send(path, body, contentType)
      const json: any = await reply.json()
      expect(reply.status, what).toBeGreaterThanOrEqual(400)
      expect(reply.status, what).toBeLessThan(500)
      expect(json.error, what).toMatchObject({ type: "invalid_request_error", message: expect.any(String), param: null })
      expect(typeof json.error.code, what).toBe("string")
    }
    // and the official client reads such an error as an APIError with its message
    const error = await client.chat.completions.create({ model: "friday", messages: [] }).catch((cause) => cause)
    expect(error).toBeInstanceOf(OpenAI.APIError)
    expect(error.status).toBe(400)
    expect(await client.responses.create({ model: "friday", input: "Hello Friday" })).toMatchObject({ status: "completed" })
  })
})
