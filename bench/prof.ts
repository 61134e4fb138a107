import { load, startServer } from "./lib.ts"
const body = JSON.stringify({ input: [{ role: "user", content: [{ type: "text", text: "Hello Friday" }] }] })
const agent = await startServer("examples/main.ts", { FRIDAY_DELAY_MS: "0", NODE_OPTIONS: "--cpu-prof --cpu-prof-dir=/tmp/prof" })
console.log(await load(agent, { path: "/process", body, connections: 50, seconds: 5 }))
await agent.stop()
