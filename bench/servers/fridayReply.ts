/**
 * Friday's reply, computed per request as agentapp's Friday computes it
 * (fresh ids, timestamps, sequence numbers): the baselines' shared part
 * (raw-friday.ts, hono-friday.ts; fastapi_friday.py is its Python twin).
 */
interface Part { [key: string]: unknown }

export type Event = { readonly sequence_number: number } & Record<string, unknown>

/** Friday's reply to `said`: its events, in order, each with its sequence number. */
export const fridayEvents = (said: string): Array<Event> => {
  const responseId = `response_${crypto.randomUUID()}`
  const sessionId = crypto.randomUUID()
  const createdAt = Math.floor(Date.now() / 1000)
  let seq = 0
  const out: Array<Event> = []
  const emit = (event: Event) => {
    out.push(event)
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
    })
  }
  const message = (type: string, role: string, parts: (id: string) => Array<Part>, usage: unknown) => {
    const id = `msg_${crypto.randomUUID()}`
    emit({ sequence_number: seq++, object: "message", status: "in_progress", error: null, id, type, role, content: null, code: null, message: null, usage: null, metadata: null })
    const content = parts(id)
    const done = { sequence_number: seq++, object: "message", status: "completed", error: null, id, type, role, content, code: null, message: null, usage, metadata: null }
    emit(done)
    output.push(done)
  }
  const streamed = (text: string) => (id: string): Array<Part> => {
    for (const word of text.match(/\s*\S+/g) ?? []) {
      emit({ sequence_number: seq++, object: "content", status: "in_progress", error: null, type: "text", index: 0, delta: true, msg_id: id, text: word })
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

/** The events as SSE text, one `JSON.stringify` per event. */
export const sseText = (events: ReadonlyArray<Event>): string => {
  let out = ""
  for (const event of events) out += `id: ${event.sequence_number}\ndata: ${JSON.stringify(event)}\n\n`
  return out
}

/** The text of the last message of a request body. */
export const saidIn = (body: any): string => body.input.at(-1).content.map((part: { text: string }) => part.text).join(" ")
