/**
 * What a TypeScript user would write instead: Hono on Node (`@hono/node-server`)
 * with a hand-written SSE route (`streamSSE`) that computes Friday's reply per
 * request and writes the same events as agentapp, one `writeSSE` per event.
 *
 *   POST /process   Friday's reply (paced by FRIDAY_DELAY_MS)
 *   GET /readiness  200
 */
import { serve } from "@hono/node-server"
import { Hono } from "hono"
import { streamSSE } from "hono/streaming"
import { delayMs, fridayEvents, pausesAfter } from "./fridayReply.ts"

const app = new Hono()
app.get("/readiness", (c) => c.json({ status: "ready" }))
app.post("/process", async (c) => {
  const events = fridayEvents(await c.req.json())
  c.header("cache-control", "no-cache")
  c.header("x-accel-buffering", "no")
  return streamSSE(c, async (stream) => {
    for (const event of events) {
      if (stream.aborted) return
      await stream.writeSSE({ id: String(event.sequence_number), data: JSON.stringify(event) })
      if (delayMs > 0 && pausesAfter(event)) await stream.sleep(delayMs)
    }
  })
})

const server = serve({ fetch: app.fetch, port: Number(process.env.PORT ?? 0), hostname: "127.0.0.1" }, (info) => {
  console.log(`Listening on http://127.0.0.1:${info.port}`)
})
process.on("SIGTERM", () => server.close(() => process.exit(0)))
