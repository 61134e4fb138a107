import { AgentApp, Protocol, Runner, Sse } from "@agentapp/core"
import { Deferred, Effect, Schema, Stream } from "effect"
const body = { input: [{ role: "user", content: [{ type: "text", text: "Hello Friday" }] }] }
const words = (text: string, make: (d: string) => AgentApp.AgentOutput) => Stream.fromIterable(text.match(/\s*\S+/g) ?? []).pipe(Stream.map(make))
const outputs = () => Stream.concat(
  words(`The user said "Hello Friday". I do not know the user's name yet. I will count its words with the word_stats tool.`, AgentApp.reasoning),
  Stream.make(AgentApp.toolCall({ callId: "c", name: "word_stats", arguments: { text: "x" } }), AgentApp.toolResult({ callId: "c", name: "word_stats", output: { words: 2 } }))
).pipe(Stream.concat(words("Hello, I am Friday! Your message has 2 words and 12 characters.", AgentApp.text)))
const ctx = { request: body as any, responseId: "r", sessionId: "s", userId: "u" }
const N = 2000
const time = async (name: string, f: () => Promise<unknown>) => {
  for (let i = 0; i < 200; i++) await f()
  const t = performance.now()
  for (let i = 0; i < N; i++) await f()
  console.log(name, ((performance.now() - t) / N * 1000).toFixed(1), "µs")
}
const decode = Schema.decodeUnknownEffect(Protocol.AgentRequest)
await time("schema decode", () => Effect.runPromise(decode(body, { errors: "all" })))
await time("outputs only", () => Effect.runPromise(Stream.runDrain(outputs())))
await time("runner events", () => Effect.runPromise(Stream.runDrain(Runner.events(ctx, outputs()))))
await time("runner+cancel", () => Effect.runPromise(Stream.runDrain(Runner.events(ctx, outputs(), { cancel: Deferred.makeUnsafe<void>() }))))
await time("runner+sse", () => Effect.runPromise(Stream.runDrain(Sse.encode(Runner.events(ctx, outputs()), Sse.eventFrame))))
let events: Array<any> = []
await Effect.runPromise(Stream.runForEach(Runner.events(ctx, outputs()), (e) => Effect.sync(() => events.push(e))))
console.log("events", events.length)
await time("stringify all", async () => { let s = ""; for (const e of events) s += Sse.eventFrame(e); return s })
