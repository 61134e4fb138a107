/**
 * 10. The protocol adapters against `/process`: the same Friday request (no
 * delay) through `/process`, the Responses API stream, the Chat Completions
 * stream, AG-UI and A2A's streamed message, on one server, alternated; the server's CPU per request
 * and each adapter's ratio to `/process` (target: at most 1.15, the event
 * mapping being the only extra work).
 */
import { load, round, type Server } from "./lib.ts"

type Start = (script: string, env?: Record<string, string>) => Promise<Server>

const say = "Hello Friday"
const routes: ReadonlyArray<readonly [string, string, string]> = [
  ["process", "/process", JSON.stringify({ input: [{ role: "user", content: [{ type: "text", text: say }] }] })],
  ["responses", "/compatible-mode/v1/responses", JSON.stringify({ model: "friday", input: say, stream: true })],
  ["chat_completions", "/compatible-mode/v1/chat/completions", JSON.stringify({ model: "friday", stream: true, messages: [{ role: "user", content: say }] })],
  // a thread of its own per request (autocannon's `[<id>]`), as the other routes have a session each
  ["ag_ui", "/ag-ui", JSON.stringify({ threadId: "[<id>]", runId: "r", messages: [{ id: "m", role: "user", content: say }] })],
  // a new task and context per request
  ["a2a", "/a2a", JSON.stringify({ jsonrpc: "2.0", id: 1, method: "SendStreamingMessage", params: { message: { messageId: "m", role: "ROLE_USER", parts: [{ text: say }] } } })]
]

export const protocols = async (start: Start, quick: boolean) => {
  const server = await start("examples/main.ts", { FRIDAY_DELAY_MS: "0" })
  const seconds = quick ? 1 : 2
  try {
    const cpu: Record<string, Array<number>> = {}
    const rounds = quick ? 1 : 2
    for (let i = 0; i < rounds; i++) {
      for (const [name, path, body] of i % 2 === 0 ? routes : [...routes].reverse()) {
        const result = await load(server, { path, body, connections: 16, seconds, idReplacement: name === "ag_ui" })
        if (result.non2xx > 0 || result.errors > 0) throw new Error(`${path}: ${result.non2xx} non-2xx, ${result.errors} errors`)
        ;(cpu[name] ??= []).push(result.cpuMsPerRequest)
      }
    }
    const mean = (values: ReadonlyArray<number>) => values.reduce((a, b) => a + b, 0) / values.length
    const base = mean(cpu.process)
    return Object.fromEntries(routes.map(([name]) => [name, {
      cpu_ms_per_request: round(mean(cpu[name]), 3),
      ratio_to_process: round(mean(cpu[name]) / base, 2)
    }]))
  } finally {
    await server.stop()
  }
}
