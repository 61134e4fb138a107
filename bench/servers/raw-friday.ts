/**
 * The floor for Friday: a hand-written node:http server that computes
 * Friday's reply to each request (fresh ids, timestamps, sequence numbers,
 * one JSON.stringify per event) and writes the same SSE bytes as agentapp,
 * with no framework in between. The bench checks that its bytes match
 * agentapp's once ids and timestamps are masked.
 *
 *   POST /process   Friday's reply, at once (FRIDAY_DELAY_MS=0) or paced
 *   GET /readiness  200
 */
import { setTimeout as sleep } from "node:timers/promises"
import { delayMs, fridayEvents, pausesAfter, sseFrame, sseText } from "./fridayReply.ts"
import { serveRaw, sseHeaders } from "./rawServer.ts"

serveRaw(async (body, response) => {
  response.writeHead(200, sseHeaders)
  const events = fridayEvents(body)
  if (delayMs === 0) return response.end(sseText(events))
  let closed = false
  response.once("close", () => (closed = true))
  for (const event of events) {
    if (closed) return
    response.write(sseFrame(event))
    if (pausesAfter(event)) await sleep(delayMs)
  }
  response.end()
})
