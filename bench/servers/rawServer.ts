/**
 * What the raw node:http baselines share: `GET /readiness` answers 200, a
 * POST hands its JSON body to `onPost`, and the server says where it listens
 * and stops on SIGTERM. Nothing else runs per request. Also the frame of the
 * streaming baselines (raw.ts and effect-ticks.ts).
 */
import { createServer, type ServerResponse } from "node:http"

/** The headers of the baselines' SSE replies, as agentapp sends them. */
export const sseHeaders = { "content-type": "text/event-stream", "cache-control": "no-cache", "x-accel-buffering": "no" }

/** A frame shaped like the agent's text delta, numbered `n` (the streaming baselines' frame). */
export const tickFrame = (n: number): string =>
  `id: ${n}\ndata: ${
    JSON.stringify({
      sequence_number: n,
      object: "content",
      status: "in_progress",
      error: null,
      type: "text",
      index: 0,
      delta: true,
      msg_id: "msg_00000000-0000-0000-0000-000000000000",
      text: `tick ${n} `
    })
  }\n\n`

export const serveRaw = (onPost: (body: any, response: ServerResponse) => void): void => {
  const server = createServer((request, response) => {
    if (request.method === "GET") {
      response.writeHead(200, { "content-type": "application/json" })
      response.end("{\"status\":\"ready\"}")
      return
    }
    const chunks: Array<Buffer> = []
    request.on("data", (chunk: Buffer) => chunks.push(chunk))
    request.on("end", () => onPost(JSON.parse(Buffer.concat(chunks).toString("utf8")), response))
  })
  server.listen(Number(process.env.PORT ?? 0), "127.0.0.1", () => {
    const address = server.address() as { port: number }
    console.log(`Listening on http://127.0.0.1:${address.port}`)
  })
  process.on("SIGTERM", () => server.close(() => process.exit(0)))
}
