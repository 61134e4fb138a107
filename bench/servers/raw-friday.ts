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
import { fridayEvents, saidIn, sseText } from "./fridayReply.ts"
import { serveRaw, sseHeaders } from "./rawServer.ts"

serveRaw((body, response) => {
  response.writeHead(200, sseHeaders)
  response.end(sseText(fridayEvents(saidIn(body))))
})
