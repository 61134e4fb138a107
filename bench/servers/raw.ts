/**
 * The floor: a raw node:http server that writes the same SSE bytes as the
 * agent server, with nothing in between.
 *
 *   MODE=replay  POST /process answers the bytes in REPLAY_FILE at once (Friday with no delay)
 *   MODE=ticks   POST /process writes FRAMES frames, INTERVAL_MS apart, each like the agent's
 *   GET /readiness answers 200
 */
import { readFileSync } from "node:fs"
import { serveRaw, sseHeaders, tickFrame } from "./rawServer.ts"

const mode = process.env.MODE ?? "replay"
const replay = mode === "replay" ? readFileSync(process.env.REPLAY_FILE!) : Buffer.alloc(0)
const frames = Number(process.env.FRAMES ?? 20)
const interval = Number(process.env.INTERVAL_MS ?? 10)

serveRaw((_body, response) => {
  response.writeHead(200, sseHeaders)
  if (mode === "replay") return response.end(replay)
  let n = 0
  const timer = setInterval(() => {
    response.write(tickFrame(n++))
    if (n >= frames) {
      clearInterval(timer)
      response.end()
    }
  }, interval)
  response.on("close", () => clearInterval(timer))
})
