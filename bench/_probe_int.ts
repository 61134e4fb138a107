import * as http from "node:http"
import { startServer, percentile } from "./lib.ts"

const keep = new http.Agent({ keepAlive: true, maxSockets: 1 })
const post = (url: string, body: string) => new Promise<void>((resolve, reject) => {
  const req = http.request(url, { method: "POST", agent: keep, headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) } }, (res) => { res.resume(); res.on("end", () => resolve()) })
  req.on("error", reject); req.end(body)
})
const server = await startServer("bench/servers/agent.ts", { MODE: "burst", FRAMES: "20" })
const rows: Array<{ at: number; stopResp: number; cancel: number; lastTickBefore: number; ticks: number }> = []
for (let i = -5; i < 300; i++) {
  const session = `p-${i}-${crypto.randomUUID()}`
  let stopSent = 0, canceled = 0, lastTick = 0, ticks = 0
  let started!: () => void
  const running = new Promise<void>((r) => (started = r))
  const done = new Promise<void>((resolve, reject) => {
    const payload = JSON.stringify({ input: [], mode: "endless", session_id: session })
    const req = http.request(`${server.url}/process`, { method: "POST", headers: { "content-type": "application/json", "content-length": Buffer.byteLength(payload) }, agent: false }, (res) => {
      res.setEncoding("utf8")
      res.on("data", (text: string) => {
        const now = performance.now()
        if (text.includes("\"delta\":true")) { started(); ticks++; if (stopSent === 0) lastTick = now }
        if (canceled === 0 && stopSent !== 0 && text.includes("\"status\":\"canceled\"")) canceled = now
      })
      res.on("end", () => resolve()); res.on("error", reject)
    })
    req.on("error", reject); req.end(payload)
  })
  await running
  stopSent = performance.now()
  const stopResp = await (process.env.FETCH ? fetch(`${server.url}/stop`, { method: "POST", body: JSON.stringify({ session_id: session }) }).then((r) => r.text()).then(() => performance.now() - stopSent) : post(`${server.url}/stop`, JSON.stringify({ session_id: session })).then(() => performance.now() - stopSent))
  await done
  if (i >= 0) rows.push({ at: performance.timeOrigin + stopSent, stopResp, cancel: canceled - stopSent, lastTickBefore: stopSent - lastTick, ticks })
}
await server.stop()
const c = rows.map((r) => r.cancel)
console.log("p50", percentile(c, 50).toFixed(2), "p99", percentile(c, 99).toFixed(2))
for (const r of rows.filter((r) => r.cancel > 3)) console.log(JSON.stringify(Object.fromEntries(Object.entries(r).map(([k, v]) => [k, +v.toFixed(2)]))))
