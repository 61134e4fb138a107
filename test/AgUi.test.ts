/**
 * AG-UI on `npm start` (Friday), with `@ag-ui/client`'s `HttpAgent`: a run
 * with reasoning, a tool call and its result, and text (the client checks
 * the order of every event it receives); a thread continued; `abortRun`
 * stopping the server's run; bad input answered with a `RUN_ERROR`.
 */
import { HttpAgent } from "@ag-ui/client"
import { describe, expect, it } from "vitest"
import { useFriday, waitFor, within } from "./support/server.ts"
import { postJson, readStream } from "./support/sse.ts"

const server = useFriday()

const activeRuns = () => fetch(`${server.url}/health`).then((reply) => reply.json()).then((body: any) => body.active_runs as number)

/** An agent on a thread of its own, with a first user message. */
const agentSaying = (text: string, threadId = `thread-${crypto.randomUUID()}`) => {
  const agent = new HttpAgent({ url: `${server.url}/ag-ui`, threadId })
  agent.addMessage({ id: crypto.randomUUID(), role: "user", content: text })
  return agent
}

describe("AG-UI with @ag-ui/client", () => {
  it("a run: RUN_STARTED, reasoning, the tool call and its result, the text, RUN_FINISHED", async () => {
    const agent = agentSaying("Hello Friday")
    const types: Array<string> = []
    const { newMessages } = await agent.runAgent({}, { onEvent: ({ event }) => void types.push(event.type) })
    expect(types[0]).toBe("RUN_STARTED")
    expect(types.at(-1)).toBe("RUN_FINISHED")
    for (const type of ["REASONING_MESSAGE_CONTENT", "TOOL_CALL_START", "TOOL_CALL_ARGS", "TOOL_CALL_END", "TOOL_CALL_RESULT", "TEXT_MESSAGE_CONTENT"]) {
      expect(types, type).toContain(type)
    }
    const assistant = newMessages.filter((message) => message.role === "assistant")
    const call = assistant.flatMap((message: any) => message.toolCalls ?? [])[0]
    expect(call.function.name).toBe("word_stats")
    expect(JSON.parse(call.function.arguments)).toEqual({ text: "Hello Friday" })
    expect(newMessages.find((message) => message.role === "tool")).toMatchObject({ toolCallId: call.id })
    expect(assistant.map((message: any) => message.content ?? "").join("")).toContain("Hello, I am Friday!")
  })

  it("the thread is the session: the next run remembers the name", async () => {
    const agent = agentSaying("My name is Ada")
    await agent.runAgent()
    agent.addMessage({ id: crypto.randomUUID(), role: "user", content: "Who am I?" })
    const { newMessages } = await agent.runAgent()
    const text = newMessages.filter((message) => message.role === "assistant").map((message: any) => message.content ?? "").join("")
    expect(text).toContain("Your name is Ada")
  })

  it("abortRun stops the run on the server, and the thread takes a new run", async () => {
    const threadId = `thread-${crypto.randomUUID()}`
    const agent = agentSaying("Tell me a long story", threadId)
    let sawText!: () => void
    const firstText = new Promise<void>((resolve) => (sawText = resolve))
    const running = agent.runAgent({}, {
      onEvent: ({ event }) => {
        if (event.type === "TEXT_MESSAGE_CONTENT") sawText()
      }
    }).catch((error) => error)
    await within(10_000, "the first text", firstText)
    agent.abortRun()
    await running
    await waitFor("the server run to stop", async () => (await activeRuns()) === 0, 1_000)
    const next = agentSaying("Hello again", threadId)
    const { newMessages } = await next.runAgent()
    expect(newMessages.some((message) => message.role === "assistant")).toBe(true)
  })

  it("a POST /stop for the thread ends its run with RUN_FINISHED and a cancelled outcome", async () => {
    const threadId = `thread-${crypto.randomUUID()}`
    const response = await fetch(`${server.url}/ag-ui`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ threadId, runId: "r1", messages: [{ id: "m1", role: "user", content: "Tell me a long story" }] })
    })
    const events: Array<any> = []
    let sawText!: () => void
    const firstText = new Promise<void>((resolve) => (sawText = resolve))
    const done = readStream(response, (event) => {
      events.push(event)
      if (event.type === "TEXT_MESSAGE_CONTENT") sawText()
    })
    await within(10_000, "the first text", firstText)
    expect((await postJson(`${server.url}/stop`, { session_id: threadId })).status).toBe(200)
    await within(5_000, "the stream to end", done)
    expect(events.at(-1)).toEqual({ type: "RUN_FINISHED", threadId, runId: "r1", outcome: { type: "cancelled" } })
  })

  const post = (body: string, contentType = "application/json") =>
    fetch(`${server.url}/ag-ui`, { method: "POST", headers: { "content-type": contentType }, body })
  const bad: Array<readonly [string, string, string?]> = [
    ["not json", "not JSON"],
    ["{}", "no threadId"],
    ["[]", "an array"],
    ["{\"threadId\": 1, \"runId\": \"r\", \"messages\": []}", "a threadId that is a number"],
    ["{\"threadId\": \"t\", \"runId\": \"r\"}", "no messages"],
    ["{\"threadId\": \"t\", \"runId\": \"r\", \"messages\": \"hi\"}", "messages a string"],
    ["{\"threadId\": \"t\", \"runId\": \"r\", \"messages\": []}", "no message to answer"],
    ["{\"threadId\": \"t\", \"runId\": \"r\", \"messages\": [{\"role\": \"assistant\", \"content\": \"hi\"}]}", "an assistant message last"],
    ["{\"threadId\": \"t\", \"runId\": \"r\", \"messages\": [{\"content\": \"hi\"}]}", "a message with no role"],
    ["{\"threadId\": \"t\", \"runId\": \"r\", \"messages\": [{\"role\": \"user\", \"content\": 7}]}", "content a number"],
    ["{\"threadId\": \"t\", \"runId\": 5, \"messages\": []}", "a runId that is a number"],
    ["{\"threadId\": \"t\", \"runId\": \"r\", \"messages\": [42]}", "a message that is a number"],
    ["{\"threadId\": \"t\", \"runId\": \"r\", \"messages\": []}", "a text content type", "text/plain"],
    [`{"threadId": "t", "runId": "r", "messages": ${"[".repeat(100)}${"]".repeat(100)}}`, "nested too deep"],
    ["", "an empty body"],
    ["{\"threadId\": null, \"runId\": \"r\", \"messages\": []}", "a null threadId"]
  ]
  it(`answers ${bad.length} malformed inputs with a 4xx and one RUN_ERROR event, and goes on serving`, async () => {
    for (const [body, what, contentType] of bad) {
      const reply = await post(body, contentType)
      expect(reply.status, what).toBeGreaterThanOrEqual(400)
      expect(reply.status, what).toBeLessThan(500)
      const text = await reply.text()
      const events = text.split("\n\n").filter((frame) => frame.startsWith("data: ")).map((frame) => JSON.parse(frame.slice(6)))
      expect(events, what).toEqual([{ type: "RUN_ERROR", message: expect.any(String), code: expect.any(String) }])
    }
    const { newMessages } = await agentSaying("Hello Friday").runAgent()
    expect(newMessages.length).toBeGreaterThan(0)
  })
})
