import { describe, expect, layer } from "@effect/vitest"
import { Deferred, Effect, Layer } from "effect"
import { HttpEffect, HttpServer } from "effect/http"
import { checkRun } from "../../../test/support/protocol.ts"
import { dataOf, readStream, userText } from "../../../test/support/sse.ts"
import { makeApp } from "./fixtures/TestApp.ts"

// A server that is not Node's: the app served as a web-standard handler (`Request` in, `Response`
// out), as on Bun, Deno or a worker. Streamed replies then take the platform's stream, not the
// Node writer.
type WebHandler = (request: Request) => Promise<Response>
const served = Deferred.makeUnsafe<WebHandler>()

const WebServer = Layer.succeed(
  HttpServer.HttpServer,
  HttpServer.make({
    address: { _tag: "InetAddressV4", hostname: "127.0.0.1", port: 0 } as any,
    serve: (httpEffect, middleware) =>
      Effect.flatMap(Effect.context<never>(), (context) =>
        Deferred.succeed(
          served,
          HttpEffect.toWebHandlerWith(context)(httpEffect as any, middleware) as WebHandler
        ))
  })
)

const TestServer = makeApp({ keepAlive: "50 millis" }).Main.pipe(Layer.provideMerge(WebServer))

const post = (handler: WebHandler, body: unknown) =>
  handler(new Request("http://web/process", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body)
  }))

layer(TestServer, { excludeTestServices: true })("a web-standard server", (it) => {
  describe("POST /process", () => {
    it.effect("streams a run that waits through the platform's stream to its end (no Node response: no keep-alive comments)", () =>
      Effect.gen(function*() {
        const handler = yield* Deferred.await(served)
        const response = yield* Effect.promise(() =>
          post(handler, userText("x", { mode: "slow", count: 4, interval_ms: 30 }))
        )
        expect(response.status).toBe(200)
        expect(response.headers.get("content-type")).toContain("text/event-stream")
        const events: Array<any> = []
        const frames = yield* Effect.promise(() => readStream(response, (event) => events.push(event)))
        // no Node response to write comments to: the keep-alive watch is off, the run whole
        expect(frames.filter((frame) => frame.comment !== undefined)).toEqual([])
        const last = checkRun(dataOf(frames))
        expect(last.status).toBe("completed")
        expect(last.output[0].content[0].text).toBe("w1 w2 w3 w4 ")
        expect(events.length).toBe(dataOf(frames).length)
      }))

    it.effect("a stop reaches a run streamed through the platform's stream", () =>
      Effect.gen(function*() {
        const handler = yield* Deferred.await(served)
        const response = yield* Effect.promise(() =>
          post(handler, userText("x", { mode: "endless", session_id: "web-stop", interval_ms: 20 }))
        )
        const reading = Effect.runPromise(Effect.promise(() => readStream(response)))
        const stop = yield* Effect.promise(() =>
          handler(new Request("http://web/stop", {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ session_id: "web-stop" })
          }))
        )
        expect(stop.status).toBe(200)
        const last = checkRun(dataOf(yield* Effect.promise(() => reading)))
        expect(last.status).toBe("canceled")
      }))
  })
})
