/**
 * 9. An agent on a model: examples/llm.ts (the AI SDK adapter) on the test's
 * OpenAI-compatible model server, which streams a fixed number of tokens at a
 * fixed pace, against the same number of text deltas at the same pace
 * written by a handler of its own (bench/servers/agent.ts); many sessions at
 * once. The figure is the agentapp server's CPU per streamed token, and the
 * ratio says what the adapter and the model client add per token.
 */
import * as http from "node:http"
import { startFakeModel } from "../test/support/fakeModel.ts"
import { cpuMs, round, type Server } from "./lib.ts"

type Start = (script: string, env?: Record<string, string>) => Promise<Server>

/** Runs `sessions` requests at once, each read to its end; how many text deltas arrived in all. */
const streamAll = (server: Server, body: string, sessions: number) =>
  Promise.all(Array.from({ length: sessions }, () =>
    new Promise<number>((resolve, reject) => {
      const request = http.request(`${server.url}/process`, { method: "POST", headers: { "content-type": "application/json" } }, (response) => {
        let text = ""
        response.setEncoding("utf8")
        response.on("data", (chunk) => (text += chunk))
        response.on("end", () => resolve(text.split("\n").filter((line) => line.includes("\"delta\":true")).length))
      })
      request.on("error", reject)
      request.end(body)
    }))).then((counts) => counts.reduce((sum, count) => sum + count, 0))

export const llmTokens = async (start: Start, quick: boolean) => {
  const tokens = 50
  const tokenMs = 20
  const sessions = quick ? 50 : 200
  const model = await startFakeModel({ tokenMs })
  const measure = async (server: Server, text: string) => {
    const body = JSON.stringify({ input: [{ role: "user", content: [{ type: "text", text }] }] })
    await streamAll(server, body, 10) // warm-up
    const before = cpuMs(server.pid)
    const started = Date.now()
    const deltas = await streamAll(server, body, sessions)
    return { deltas, cpu_us_per_token: round((cpuMs(server.pid) - before) * 1000 / deltas, 1), ms: Date.now() - started }
  }
  try {
    const llm = await start("examples/llm.ts", { OPENAI_BASE_URL: model.url, OPENAI_API_KEY: "bench", OPENAI_MODEL: "fake" })
    const onModel = await measure(llm, `Count slowly ${tokens}`).finally(() => llm.stop())
    const plain = await start("bench/servers/agent.ts", { FRAMES: String(tokens), INTERVAL_MS: String(tokenMs) })
    const byHandler = await measure(plain, "hi").finally(() => plain.stop())
    return {
      sessions,
      tokens_per_session: tokens,
      token_interval_ms: tokenMs,
      llm_adapter: onModel,
      plain_handler: byHandler,
      cpu_per_token_ratio: round(onModel.cpu_us_per_token / byHandler.cpu_us_per_token, 2)
    }
  } finally {
    await model.close()
  }
}
