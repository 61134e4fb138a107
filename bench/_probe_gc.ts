import { spawn } from "node:child_process"
import * as path from "node:path"
import { root, startServer } from "./lib.ts"
const server = await startServer(process.env.SERVER ?? "bench/servers/agent.ts", { MODE: "burst", FRAMES: "20", NODE_OPTIONS: "--import /tmp/exp/gcobs.mjs", ...(process.env.LEAN ? { LEAN: "1" } : {}) })
const body = JSON.stringify({ input: [{ role: "user", content: [{ type: "text", text: "load" }] }] })
const load = spawn(process.execPath, [path.join(root, "node_modules/autocannon/autocannon.js"), "-c", "32", "-d", "10", "-m", "POST", "-H", "content-type=application/json", "-b", body, `${server.url}/process`], { stdio: ["ignore", "ignore", "inherit"] })
await new Promise((r) => load.once("exit", r))
const lines = server.output().split("\n").filter((l) => l.startsWith("GC"))
const d = lines.map((l) => { const [, , dur, kind] = l.split(" "); return { dur: +dur, kind } })
const by: Record<string, { n: number; total: number; max: number; over10: number }> = {}
for (const x of d) { const b = (by[x.kind] ??= { n: 0, total: 0, max: 0, over10: 0 }); b.n++; b.total += x.dur; b.max = Math.max(b.max, x.dur); if (x.dur > 10) b.over10++ }
console.log(by)
await server.stop()
