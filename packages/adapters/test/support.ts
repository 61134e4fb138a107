/**
 * What the adapters' tests share: a run's context, the history every adapter
 * converts, an agentapp server on the test's model server, and the tests that
 * a stop and a client that leaves close the model request upstream.
 */
import type { AgentApp, Protocol } from "@agentapp/core"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { expect, type Vitest } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { HttpServer } from "effect/http"
import { createServer } from "node:http"
import { type FakeModel, startFakeModel } from "../../../test/support/fakeModel.ts"
import { checkRun } from "../../../test/support/protocol.ts"
import { within } from "../../../test/support/server.ts"
import { dataOf, parseFrames, postJson, readStream, userText } from "../../../test/support/sse.ts"

/** A one-turn request. */
export const request = (text: string): Protocol.AgentRequest => ({ input: [{ role: "user", content: [{ type: "text", text }] }] })

/** The context a run of `req` has, with the session's earlier turns. */
export const contextOf = (
  req: Protocol.AgentRequest,
  history: ReadonlyArray<Protocol.Message> = []
): AgentApp.QueryContext => ({
  request: req,
  responseId: "response_1",
  sessionId: "s",
  userId: "u",
  key: { userId: "u", sessionId: "s" },
  history
})

/** The completed messages of a run of one type. */
export const completed = (events: ReadonlyArray<any>, type: string): Array<any> =>
  events.filter((event) => event.object === "message" && event.status === "completed" && event.type === type)

/**
 * A session's earlier turns with one of each kind an adapter converts: a
 * system message, user and assistant text, a tool call and its result, and a
 * reasoning message (which every adapter leaves out).
 */
export const history: ReadonlyArray<Protocol.Message> = [
  { role: "system", type: "message", content: [{ type: "text", text: "Be brief." }] },
  { role: "user", type: "message", content: [{ type: "text", text: "Weather in Oslo?" }] },
  { role: "assistant", type: "reasoning", content: [{ type: "text", text: "hidden" }] },
  {
    role: "assistant",
    type: "plugin_call",
    content: [{ type: "data", data: { call_id: "c1", name: "get_weather", arguments: "{\"city\":\"Oslo\"}" } }]
  },
  {
    role: "tool",
    type: "plugin_call_output",
    content: [{ type: "data", data: { call_id: "c1", name: "get_weather", output: "{\"celsius\":-3}" } }]
  },
  { role: "assistant", type: "message", content: [{ type: "text", text: "Cold." }] }
]

/**
 * An agentapp server on port 0 whose app `make` builds on the test's model
 * server (started and closed with the layer); `model()` is that server.
 */
export const onModelServer = <E>(make: (fake: FakeModel) => Layer.Layer<never, E, HttpServer.HttpServer>) => {
  let model: FakeModel | undefined
  const server = Layer.unwrap(Effect.map(
    Effect.acquireRelease(Effect.promise(() => startFakeModel({ tokenMs: 50 })), (fake) => Effect.promise(() => fake.close())),
    (fake) => {
      model = fake
      return make(fake)
    }
  )).pipe(Layer.provideMerge(NodeHttpServer.layer(createServer, { port: 0, host: "127.0.0.1" })))
  return { server, model: () => model! }
}

/** The server's base URL. */
export const baseUrl = HttpServer.addressFormattedWith((url) => Effect.succeed(url))

/** A run's events, the whole reply read. */
export const runOn = (url: string, body: unknown) =>
  Effect.promise(() => postJson(`${url}/process`, body).then(async (reply) => dataOf(parseFrames(await reply.text()))))

/** A slow answer's run: `firstText` resolves at its first text delta, `done` with its frames. */
const slowRun = (url: string, session: string, init?: RequestInit) =>
  Effect.promise(async () => {
    const response = await postJson(`${url}/process`, userText("Count slowly 200", { session_id: session }), init)
    let sawText!: () => void
    const firstText = new Promise<void>((resolve) => (sawText = resolve))
    const done = readStream(response, (event) => {
      if (event.object === "content" && event.delta === true) sawText()
    })
    return { firstText, done }
  })

/** The model request that a slow run started, once its first text delta arrived. */
const upstreamOf = (model: () => FakeModel, firstText: Promise<void>) =>
  Effect.map(Effect.promise(() => within(10_000, "the first text delta", firstText)), () => model().requests.at(-1)!)

const closesWithinASecond = (closedEarly: Promise<boolean>) =>
  Effect.map(Effect.promise(() => within(1_000, "the model request to close", closedEarly)), (early) => expect(early).toBe(true))

/** The tests that a stop, and a client that leaves, close the model request upstream within a second. */
export const cancellationTests = (it: Vitest.MethodsNonLive<HttpServer.HttpServer>, model: () => FakeModel) => {
  it.effect("a stop mid-stream closes the model request within a second, and the run ends canceled", () =>
    Effect.gen(function*() {
      const url = yield* baseUrl
      const session = `stop-${crypto.randomUUID()}`
      const { done, firstText } = yield* slowRun(url, session)
      const upstream = yield* upstreamOf(model, firstText)
      expect((yield* Effect.promise(() => postJson(`${url}/stop`, { session_id: session }))).status).toBe(200)
      yield* closesWithinASecond(upstream.closedEarly)
      expect(checkRun(dataOf(yield* Effect.promise(() => done))).status).toBe("canceled")
    }))

  it.effect("a client that disconnects mid-stream closes the model request within a second", () =>
    Effect.gen(function*() {
      const url = yield* baseUrl
      const controller = new AbortController()
      const { done, firstText } = yield* slowRun(url, `leave-${crypto.randomUUID()}`, { signal: controller.signal })
      const upstream = yield* upstreamOf(model, firstText)
      controller.abort()
      yield* Effect.promise(() => done.catch(() => undefined))
      yield* closesWithinASecond(upstream.closedEarly)
    }))
}
