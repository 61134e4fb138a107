/**
 * A small OpenAI-compatible model server for the tests (no model is ever
 * called over the internet): `POST /v1/chat/completions`, streamed (SSE
 * chunks, tool calls, `reasoning_content`, usage) or not, and `POST
 * /v1/responses` streamed (the Responses API's `response.*` events, function
 * calls, reasoning summaries, usage). It answers by rule
 * from the last message, records every request, and tells when a client
 * closed a request before its answer ended (a stop that reached upstream).
 *
 * - a tool result last: "The weather in <city> is <result>."
 * - "weather in <city>" with a `get_weather` tool offered: a call of it
 * - "hand over" with a `transfer_to_*` tool offered (a handoff): a call of it, then "Here I am."
 * - "think": reasoning first, then the answer
 * - "slowly <n>": n tokens, `tokenMs` apart (default 50 ms), for stops
 * - anything else: "You said: <text>" (the earlier turns are in the request)
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"

export interface ModelRequest {
  readonly path: string
  readonly body: any
  /** Settles when the request ends: `true` when the client closed it before the answer ended. */
  readonly closedEarly: Promise<boolean>
}

export interface FakeModel {
  readonly url: string
  readonly requests: Array<ModelRequest>
  readonly close: () => Promise<void>
}

type Answer =
  | { readonly kind: "text"; readonly reasoning: Array<string>; readonly tokens: Array<string>; readonly tokenMs: number }
  | { readonly kind: "tool"; readonly name: string; readonly args: Record<string, unknown> }

const textOf = (message: any): string =>
  typeof message?.content === "string"
    ? message.content
    : Array.isArray(message?.content)
    ? message.content.map((part: any) => part.text ?? "").join("")
    : ""

const words = (text: string) => text.split(/(?<= )/)

const answerFor = (body: any, tokenMs: number): Answer => {
  const messages: Array<any> = body.messages ?? []
  const last = messages[messages.length - 1]
  if (last?.role === "tool") {
    const call = messages.flatMap((m) => m.tool_calls ?? []).find((c: any) => c.id === last.tool_call_id)
    if (call?.function.name !== "get_weather") return { kind: "text", reasoning: [], tokens: words("Here I am."), tokenMs: 0 }
    const city = JSON.parse(call.function.arguments).city
    return { kind: "text", reasoning: [], tokens: words(`The weather in ${city} is ${textOf(last)}.`), tokenMs: 0 }
  }
  const said = textOf(last)
  const transfer = (body.tools ?? []).find((tool: any) => String(tool.function?.name).startsWith("transfer_to_"))
  if (/hand (?:me )?over/i.test(said) && transfer !== undefined) return { kind: "tool", name: transfer.function.name, args: {} }
  const weather = /weather in ([A-Z][a-z]+)/.exec(said)
  const offered = (body.tools ?? []).some((tool: any) => tool.function?.name === "get_weather")
  if (weather !== null && offered) return { kind: "tool", name: "get_weather", args: { city: weather[1] } }
  const slowly = /slowly (\d+)/.exec(said)
  if (slowly !== null) {
    return { kind: "text", reasoning: [], tokens: Array.from({ length: Number(slowly[1]) }, (_, i) => `t${i} `), tokenMs }
  }
  const reasoning = /\bthink\b/.test(said) ? words("Let me think about it. ") : []
  return { kind: "text", reasoning, tokens: words(`You said: ${said}`), tokenMs: 0 }
}

const usage = (body: any, completion: number) => ({
  prompt_tokens: JSON.stringify(body.messages ?? []).length >> 4,
  completion_tokens: completion,
  total_tokens: (JSON.stringify(body.messages ?? []).length >> 4) + completion
})

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

const chatCompletion = async (body: any, answer: Answer, res: ServerResponse, isOpen: () => boolean) => {
  const id = `chatcmpl-${crypto.randomUUID()}`
  const base = { id, object: "chat.completion.chunk", created: Math.floor(Date.now() / 1000), model: body.model }
  if (body.stream !== true) {
    const message = answer.kind === "tool"
      ? {
        role: "assistant",
        content: null,
        tool_calls: [{ id: "call_1", type: "function", function: { name: answer.name, arguments: JSON.stringify(answer.args) } }]
      }
      : { role: "assistant", content: answer.tokens.join("") }
    res.writeHead(200, { "content-type": "application/json" })
    res.end(JSON.stringify({
      ...base,
      object: "chat.completion",
      choices: [{ index: 0, message, finish_reason: answer.kind === "tool" ? "tool_calls" : "stop" }],
      usage: usage(body, answer.kind === "tool" ? 1 : answer.tokens.length)
    }))
    return
  }
  res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" })
  const chunk = (delta: Record<string, unknown>, finish: string | null = null) =>
    res.write(`data: ${JSON.stringify({ ...base, choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`)
  chunk({ role: "assistant", content: "" })
  if (answer.kind === "tool") {
    const args = JSON.stringify(answer.args)
    chunk({ tool_calls: [{ index: 0, id: "call_1", type: "function", function: { name: answer.name, arguments: "" } }] })
    chunk({ tool_calls: [{ index: 0, function: { arguments: args.slice(0, 5) } }] })
    chunk({ tool_calls: [{ index: 0, function: { arguments: args.slice(5) } }] })
    chunk({}, "tool_calls")
  } else {
    for (const piece of answer.reasoning) chunk({ reasoning_content: piece })
    for (const token of answer.tokens) {
      if (!isOpen()) return
      chunk({ content: token })
      if (answer.tokenMs > 0) await sleep(answer.tokenMs)
    }
    chunk({}, "stop")
  }
  res.write(`data: ${JSON.stringify({ ...base, choices: [], usage: usage(body, answer.kind === "tool" ? 1 : answer.tokens.length) })}\n\n`)
  res.end("data: [DONE]\n\n")
}

/** The text of a Responses API content (a string, or input/output text parts). */
const itemText = (content: unknown): string =>
  typeof content === "string"
    ? content
    : Array.isArray(content)
    ? content.map((part: any) => part.text ?? "").join("")
    : ""

/** A Responses API request as the chat completions one `answerFor` reads. */
const asChat = (body: any) => {
  const input: Array<any> = typeof body.input === "string" ? [{ role: "user", content: body.input }] : body.input ?? []
  const messages = input.map((item) =>
    item.type === "function_call"
      ? { role: "assistant", tool_calls: [{ id: item.call_id, function: { name: item.name, arguments: item.arguments } }] }
      : item.type === "function_call_output"
      ? { role: "tool", tool_call_id: item.call_id, content: itemText(item.output) }
      : { role: item.role, content: itemText(item.content) }
  )
  return {
    model: body.model,
    messages: body.instructions === undefined ? messages : [{ role: "system", content: body.instructions }, ...messages],
    tools: (body.tools ?? []).map((tool: any) => ({ function: { name: tool.name } }))
  }
}

/** `POST /v1/responses`, streamed: the `response.*` events of one message or one function call. */
const responses = async (body: any, answer: Answer, res: ServerResponse, isOpen: () => boolean) => {
  const id = `resp_${crypto.randomUUID()}`
  let sequence = 0
  const event = (type: string, fields: Record<string, unknown>) =>
    res.write(`event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: sequence++, ...fields })}\n\n`)
  const response = (status: string, output: Array<unknown>, usage: unknown) => ({
    id,
    object: "response",
    created_at: Math.floor(Date.now() / 1000),
    status,
    model: body.model,
    output,
    usage,
    error: null,
    incomplete_details: null,
    instructions: body.instructions ?? null,
    tools: body.tools ?? [],
    parallel_tool_calls: true
  })
  res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" })
  event("response.created", { response: response("in_progress", [], null) })
  const output: Array<Record<string, unknown>> = []
  if (answer.kind === "text" && answer.reasoning.length > 0) {
    const index = output.length
    event("response.output_item.added", { output_index: index, item: { id: "rs_1", type: "reasoning", summary: [] } })
    for (const delta of answer.reasoning) {
      event("response.reasoning_summary_text.delta", { item_id: "rs_1", output_index: index, summary_index: 0, delta })
    }
    const text = answer.reasoning.join("")
    const reasoning = { id: "rs_1", type: "reasoning", summary: [{ type: "summary_text", text }] }
    event("response.reasoning_summary_text.done", { item_id: "rs_1", output_index: index, summary_index: 0, text })
    event("response.output_item.done", { output_index: index, item: reasoning })
    output.push(reasoning)
  }
  const index = output.length
  let item: Record<string, unknown>
  if (answer.kind === "tool") {
    const args = JSON.stringify(answer.args)
    item = { id: "fc_1", type: "function_call", status: "in_progress", call_id: "call_1", name: answer.name, arguments: "" }
    event("response.output_item.added", { output_index: index, item })
    event("response.function_call_arguments.delta", { item_id: "fc_1", output_index: index, delta: args })
    event("response.function_call_arguments.done", { item_id: "fc_1", output_index: index, arguments: args })
    item = { ...item, status: "completed", arguments: args }
  } else {
    item = { id: "msg_1", type: "message", status: "in_progress", role: "assistant", content: [] }
    event("response.output_item.added", { output_index: index, item })
    event("response.content_part.added", {
      item_id: "msg_1",
      output_index: index,
      content_index: 0,
      part: { type: "output_text", text: "", annotations: [] }
    })
    for (const token of answer.tokens) {
      if (!isOpen()) return
      event("response.output_text.delta", { item_id: "msg_1", output_index: index, content_index: 0, delta: token, logprobs: [] })
      if (answer.tokenMs > 0) await sleep(answer.tokenMs)
    }
    const text = answer.tokens.join("")
    const part = { type: "output_text", text, annotations: [] }
    event("response.output_text.done", { item_id: "msg_1", output_index: index, content_index: 0, text, logprobs: [] })
    event("response.content_part.done", { item_id: "msg_1", output_index: index, content_index: 0, part })
    item = { ...item, status: "completed", content: [part] }
  }
  event("response.output_item.done", { output_index: index, item })
  output.push(item)
  const completion = answer.kind === "tool" ? 1 : answer.tokens.length
  const prompt = JSON.stringify(body.input ?? "").length >> 4
  event("response.completed", {
    response: response("completed", output, {
      input_tokens: prompt,
      input_tokens_details: { cached_tokens: 0 },
      output_tokens: completion,
      output_tokens_details: { reasoning_tokens: 0 },
      total_tokens: prompt + completion
    })
  })
  res.end()
}

const readBody = (req: IncomingMessage) =>
  new Promise<string>((resolve, reject) => {
    let text = ""
    req.setEncoding("utf8")
    req.on("data", (piece) => (text += piece))
    req.on("end", () => resolve(text))
    req.on("error", reject)
  })

/** Starts the model server on an ephemeral port of 127.0.0.1. */
export const startFakeModel = async (options?: { readonly tokenMs?: number }): Promise<FakeModel> => {
  const requests: Array<ModelRequest> = []
  const server = createServer(async (req, res) => {
    let ended = false
    let closedEarly!: (early: boolean) => void
    const record: ModelRequest = {
      path: req.url ?? "",
      body: undefined,
      closedEarly: new Promise((resolve) => (closedEarly = resolve))
    }
    res.on("finish", () => {
      ended = true
      closedEarly(false)
    })
    res.on("close", () => closedEarly(!ended))
    const text = await readBody(req)
    const body = JSON.parse(text)
    ;(record as { body: unknown }).body = body
    requests.push(record)
    if (req.url === "/v1/chat/completions" && req.method === "POST") {
      await chatCompletion(body, answerFor(body, options?.tokenMs ?? 50), res, () => !res.destroyed)
      return
    }
    if (req.url === "/v1/responses" && req.method === "POST") {
      await responses(body, answerFor(asChat(body), options?.tokenMs ?? 50), res, () => !res.destroyed)
      return
    }
    res.writeHead(404, { "content-type": "application/json" })
    res.end(JSON.stringify({ error: { message: `No route ${req.method} ${req.url}`, type: "invalid_request_error" } }))
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}/v1`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      })
  }
}
