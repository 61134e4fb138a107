/**
 * The floor for Friday: a hand-written node:http server that computes
 * Friday's reply to each request (fresh ids, timestamps, sequence numbers,
 * one JSON.stringify per event) and writes the same SSE bytes as agentapp,
 * with no framework in between. The bench checks that its bytes match
 * agentapp's once ids and timestamps are masked.
 *
 *   POST /process   Friday's reply, at once (FRIDAY_DELAY_MS=0)
 *   GET /readiness  200
 */
import { serveRaw, sseHeaders } from "./rawServer.ts"

interface Part { [key: string]: unknown }

/** Friday's reply to `said`, as SSE text. */
const reply = (said: string): string => {
  const responseId = `response_${crypto.randomUUID()}`
  const sessionId = crypto.randomUUID()
  const createdAt = Math.floor(Date.now() / 1000)
  let seq = 0
  let out = ""
  const emit = (event: { sequence_number: number }) => {
    out += `id: ${event.sequence_number}\ndata: ${JSON.stringify(event)}\n\n`
  }
  const output: Array<unknown> = []
  const response = (status: string, usage: unknown) => {
    const terminal = status === "completed"
    emit({
      sequence_number: seq++,
      object: "response",
      status,
      error: null,
      id: responseId,
      created_at: createdAt,
      completed_at: terminal ? Math.floor(Date.now() / 1000) : null,
      output: terminal ? output : [],
      usage,
      session_id: sessionId
    } as any)
  }
  const message = (type: string, role: string, parts: (id: string) => Array<Part>, usage: unknown) => {
    const id = `msg_${crypto.randomUUID()}`
    emit({ sequence_number: seq++, object: "message", status: "in_progress", error: null, id, type, role, content: null, code: null, message: null, usage: null, metadata: null } as any)
    const content = parts(id)
    const done = { sequence_number: seq++, object: "message", status: "completed", error: null, id, type, role, content, code: null, message: null, usage, metadata: null }
    emit(done)
    output.push(done)
  }
  const streamed = (text: string) => (id: string): Array<Part> => {
    for (const word of text.match(/\s*\S+/g) ?? []) {
      emit({ sequence_number: seq++, object: "content", status: "in_progress", error: null, type: "text", index: 0, delta: true, msg_id: id, text: word } as any)
    }
    const part = { sequence_number: seq++, object: "content", status: "completed", error: null, type: "text", index: 0, delta: false, msg_id: id, text }
    emit(part)
    return [part]
  }
  const whole = (data: unknown) => (id: string): Array<Part> => {
    const part = { sequence_number: seq++, object: "content", status: "completed", error: null, index: 0, delta: false, msg_id: id, type: "data", data }
    emit(part)
    return [part]
  }
  const words = said.split(/\s+/).filter((word) => word.length > 0).length
  const stats = JSON.stringify({ words, characters: said.length })
  const callId = `call_${crypto.randomUUID().slice(0, 8)}`
  const usage = { input_tokens: words, output_tokens: 16 }
  response("created", null)
  response("in_progress", null)
  message("reasoning", "assistant", streamed(`The user said "${said}". I do not know the user's name yet. I will count its words with the word_stats tool.`), null)
  message("plugin_call", "assistant", whole({ call_id: callId, name: "word_stats", arguments: JSON.stringify({ text: said }) }), null)
  message("plugin_call_output", "tool", whole({ call_id: callId, name: "word_stats", output: stats }), null)
  message("message", "assistant", streamed(`Hello, I am Friday! Your message has ${words} words and ${said.length} characters.`), usage)
  response("completed", usage)
  return out
}

serveRaw((body, response) => {
  const said = body.input.at(-1).content.map((part: { text: string }) => part.text).join(" ")
  response.writeHead(200, sseHeaders)
  response.end(reply(said))
})
