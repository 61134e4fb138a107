/**
 * A real SSE client for tests: reads a `fetch` response and parses its frames.
 */

export interface Frame {
  readonly id: string | undefined
  readonly event: string | undefined
  readonly data: string | undefined
  readonly comment: string | undefined
}

/** Parses SSE text into frames (comments included, as `comment`). */
export const parseFrames = (text: string): Array<Frame> => {
  const frames: Array<Frame> = []
  for (const block of text.split("\n\n")) {
    if (block.trim() === "") continue
    let id: string | undefined
    let event: string | undefined
    let data: string | undefined
    let comment: string | undefined
    for (const line of block.split("\n")) {
      if (line.startsWith(":")) comment = line.slice(1).trim()
      else if (line.startsWith("id: ")) id = line.slice(4)
      else if (line.startsWith("event: ")) event = line.slice(7)
      else if (line.startsWith("data: ")) data = data === undefined ? line.slice(6) : `${data}\n${line.slice(6)}`
      else throw new Error(`unexpected SSE line: ${JSON.stringify(line)}`)
    }
    frames.push({ id, event, data, comment })
  }
  return frames
}

/** The JSON payloads of the data frames. */
export const dataOf = (frames: ReadonlyArray<Frame>): Array<any> =>
  frames.filter((frame) => frame.data !== undefined).map((frame) => JSON.parse(frame.data!))

/**
 * Reads a streaming response frame by frame, calling `onEvent` for each
 * data frame as it arrives. Resolves with every frame when the stream ends.
 */
export const readStream = async (
  response: Response,
  onEvent?: (event: any) => void
): Promise<Array<Frame>> => {
  const frames: Array<Frame> = []
  const decoder = new TextDecoder()
  let buffer = ""
  for await (const chunk of response.body as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(chunk, { stream: true })
    let end: number
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end + 2)
      buffer = buffer.slice(end + 2)
      for (const frame of parseFrames(block)) {
        frames.push(frame)
        if (frame.data !== undefined && onEvent) onEvent(JSON.parse(frame.data))
      }
    }
  }
  return frames
}

/** POSTs JSON to `/process` (or another path) and returns the response. */
export const postJson = (url: string, body: unknown, init?: RequestInit): Promise<Response> =>
  fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: typeof body === "string" ? body : JSON.stringify(body),
    ...init
  })

/** A one-turn request with a user text. */
export const userText = (text: string, extra?: Record<string, unknown>) => ({
  input: [{ role: "user", content: [{ type: "text", text }] }],
  ...extra
})
