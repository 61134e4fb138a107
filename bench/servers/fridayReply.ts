/**
 * Friday's reply, computed per request as agentapp's Friday computes it
 * (fresh ids, timestamps, sequence numbers; the name the user gave in an
 * earlier turn of the session, read from its history): the baselines' shared
 * part (raw-friday.ts, hono-friday.ts, effect-friday.ts; fastapi_friday.py is
 * its Python twin). A request that names a session keeps its history as
 * agentapp's memory store does: the turn's input and completed messages, the
 * last 200 (a fresh session is never read again, so it is not kept).
 */
interface Part { [key: string]: unknown }

export type Event = { readonly sequence_number: number } & Record<string, unknown>

interface Message {
  readonly role: string
  readonly content: ReadonlyArray<Part>
  readonly [key: string]: unknown
}

const maxHistory = 200
const histories = new Map<string, ReadonlyArray<Message>>()

const textOf = (message: Message): string =>
  message.content.flatMap((part) => part.type === "text" ? [part.text as string] : []).join(" ")

const nameIn = (text: string): string | undefined => /\b(?:my name is|i am|i'm|call me)\s+([A-Z][\w-]*)/i.exec(text)?.[1]

const rememberedName = (history: ReadonlyArray<Message>): string | undefined =>
  history.filter((message) => message.role === "user").map((message) => nameIn(textOf(message))).filter(
    (name) => name !== undefined
  ).at(-1)

/** Friday's reply to a request body: its events, in order, each with its sequence number. */
export const fridayEvents = (body: any): Array<Event> => {
  const input: Array<Message> = body.input
  const said = textOf(input.at(-1)!)
  const named: string | undefined = body.session_id ?? undefined
  const sessionId = named ?? crypto.randomUUID()
  const history = named === undefined ? [] : histories.get(named) ?? []
  const responseId = `response_${crypto.randomUUID()}`
  const createdAt = Math.floor(Date.now() / 1000)
  let seq = 0
  const out: Array<Event> = []
  const output: Array<Record<string, unknown>> = []
  const response = (status: string, usage: unknown) => {
    const terminal = status === "completed"
    out.push({
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
    out.push({ sequence_number: seq++, object: "message", status: "in_progress", error: null, id, type, role, content: null, code: null, message: null, usage: null, metadata: null })
    const content = parts(id)
    const done = { sequence_number: seq++, object: "message", status: "completed", error: null, id, type, role, content, code: null, message: null, usage, metadata: null }
    out.push(done)
    output.push(done)
  }
  const streamed = (text: string) => (id: string): Array<Part> => {
    for (const word of text.match(/\s*\S+/g) ?? []) {
      out.push({ sequence_number: seq++, object: "content", status: "in_progress", error: null, type: "text", index: 0, delta: true, msg_id: id, text: word })
    }
    const part = { sequence_number: seq++, object: "content", status: "completed", error: null, type: "text", index: 0, delta: false, msg_id: id, text }
    out.push(part)
    return [part]
  }
  const whole = (data: unknown) => (id: string): Array<Part> => {
    const part = { sequence_number: seq++, object: "content", status: "completed", error: null, index: 0, delta: false, msg_id: id, type: "data", data }
    out.push(part)
    return [part]
  }
  const words = said.split(/\s+/).filter((word) => word.length > 0).length
  const stats = JSON.stringify({ words, characters: said.length })
  const callId = `call_${crypto.randomUUID().slice(0, 8)}`
  const usage = { input_tokens: words, output_tokens: 16 }
  const newName = nameIn(said)
  const knownName = rememberedName(history)
  const memory = newName !== undefined
    ? `The user's name is ${newName}.`
    : knownName !== undefined
    ? `I remember from earlier that the user's name is ${knownName}.`
    : "I do not know the user's name yet."
  const greeting = newName !== undefined
    ? `Nice to meet you, ${newName}!`
    : knownName !== undefined
    ? `Your name is ${knownName}, I remember you.`
    : "Hello, I am Friday!"
  response("created", null)
  response("in_progress", null)
  message("reasoning", "assistant", streamed(`The user said "${said}". ${memory} I will count its words with the word_stats tool.`), null)
  message("plugin_call", "assistant", whole({ call_id: callId, name: "word_stats", arguments: JSON.stringify({ text: said }) }), null)
  message("plugin_call_output", "tool", whole({ call_id: callId, name: "word_stats", output: stats }), null)
  message("message", "assistant", streamed(`${greeting} Your message has ${words} words and ${said.length} characters.`), usage)
  response("completed", usage)
  if (named !== undefined) {
    const kept = history.concat(input, output.map(({ id, type, role, content, usage }) => ({
      id,
      type,
      role,
      content: (content as Array<Part>).map(({ sequence_number, object, status, error, index, delta, msg_id, ...part }) => part),
      ...(usage === null ? {} : { usage })
    }) as Message))
    histories.set(named, kept.length > maxHistory ? kept.slice(kept.length - maxHistory) : kept)
  }
  return out
}

/** One event as an SSE frame. */
export const sseFrame = (event: Event): string => `id: ${event.sequence_number}\ndata: ${JSON.stringify(event)}\n\n`

/** The events as SSE text, one `JSON.stringify` per event. */
export const sseText = (events: ReadonlyArray<Event>): string => {
  let out = ""
  for (const event of events) out += sseFrame(event)
  return out
}

/** FRIDAY_DELAY_MS: the pause after each word and tool step, as Friday's (0: the reply at once). */
export const delayMs = Number(process.env.FRIDAY_DELAY_MS ?? 0)

/** Whether Friday pauses after this event: a word, a tool call or result. */
export const pausesAfter = (event: Event): boolean => event.delta === true || event.type === "data"
