import { describe, expect, layer } from "@effect/vitest"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { Effect, Layer } from "effect"
import { HttpServer } from "effect/http"
import * as http2 from "node:http2"
import { checkRun } from "../../../test/support/protocol.ts"
import { dataOf, parseFrames, userText } from "../../../test/support/sse.ts"
import { flood, floodHeldBack, makeApp } from "./fixtures/TestApp.ts"

// cleartext HTTP/2 (h2c): the platform serves it, and a streamed run is written to an Http2ServerResponse
const TestServer = makeApp({ keepAlive: "50 millis" }).Main.pipe(
  Layer.provideMerge(NodeHttpServer.layer(() => http2.createServer(), { port: 0, host: "127.0.0.1" }))
)

/** A POST over its own HTTP/2 session; `onChunk` sees the body so far as it arrives. */
const post = (url: string, body: unknown, onChunk?: (text: string) => void, path = "/process") =>
  new Promise<{ status: number; text: string }>((resolve, reject) => {
    const session = http2.connect(url)
    session.on("error", reject)
    const stream = session.request({ ":method": "POST", ":path": path, "content-type": "application/json" })
    let status = 0
    let text = ""
    stream.setEncoding("utf8")
    stream.on("response", (headers) => (status = Number(headers[":status"])))
    stream.on("data", (chunk: string) => {
      text += chunk
      onChunk?.(text)
    })
    stream.on("end", () => {
      session.close()
      resolve({ status, text })
    })
    stream.on("error", reject)
    stream.end(JSON.stringify(body))
  })

layer(TestServer, { excludeTestServices: true })("HTTP/2", (it) => {
  describe("POST /process", () => {
    it.effect("streams a run that waits, with keep-alive comments, to its terminal event; a whole run at once", () =>
      Effect.gen(function*() {
        const url = yield* HttpServer.addressFormattedWith((address) => Effect.succeed(address))
        const streamed = yield* Effect.promise(() =>
          post(url, userText("x", { mode: "slow", count: 4, interval_ms: 120 }))
        )
        expect(streamed.status).toBe(200)
        const frames = parseFrames(streamed.text)
        expect(frames.some((frame) => frame.comment !== undefined)).toBe(true)
        const last = checkRun(dataOf(frames))
        expect(last.status).toBe("completed")
        expect(last.output[0].content[0].text).toBe("w1 w2 w3 w4 ")

        const whole = yield* Effect.promise(() => post(url, userText("Hello")))
        expect(checkRun(dataOf(parseFrames(whole.text))).status).toBe("completed")
      }))

    it.effect("a stop mid-stream ends the run in response canceled", () =>
      Effect.gen(function*() {
        const url = yield* HttpServer.addressFormattedWith((address) => Effect.succeed(address))
        const session_id = `h2-${crypto.randomUUID()}`
        let stopped: Promise<{ status: number; text: string }> | undefined
        const streamed = yield* Effect.promise(() =>
          post(url, userText("x", { mode: "endless", interval_ms: 20, session_id }), (text) => {
            // once a delta is out, stop the run
            if (stopped === undefined && text.includes("\"delta\":true")) {
              stopped = post(url, { session_id }, undefined, "/stop")
            }
          })
        )
        const stop = yield* Effect.promise(() => stopped!)
        expect(stop.status).toBe(200)
        expect(JSON.parse(stop.text)).toEqual({ status: "success", message: "Interrupt signal broadcasted." })
        expect(checkRun(dataOf(parseFrames(streamed.text))).status).toBe("canceled")
      }))

    it.effect("a client that stops reading holds the handler back through HTTP/2 flow control, then gets every frame", () =>
      Effect.gen(function*() {
        const url = yield* HttpServer.addressFormattedWith((address) => Effect.succeed(address))
        const count = 20_000 // 20 MB of deltas: far more than HTTP/2's windows and the socket buffers hold
        const before = flood.produced
        const session = http2.connect(url)
        const stream = session.request({ ":method": "POST", ":path": "/process", "content-type": "application/json" })
        stream.setEncoding("utf8")
        let text = ""
        let firstChunk: () => void
        const started = new Promise<void>((resolve) => (firstChunk = resolve))
        stream.once("data", (chunk: string) => {
          text += chunk
          // not reading: the flow-control windows fill, and the handler must come to a stop
          stream.pause()
          firstChunk()
        })
        stream.end(JSON.stringify(userText("x", { mode: "flood", count, size: 1024 })))
        yield* Effect.promise(() => started)
        const produced = yield* Effect.promise(() => floodHeldBack(before))
        expect(produced).toBeGreaterThan(0)
        expect(produced).toBeLessThan(count)
        const ended = new Promise<void>((resolve, reject) => {
          stream.on("data", (chunk: string) => (text += chunk))
          stream.on("end", () => resolve())
          stream.on("error", reject)
        })
        stream.resume()
        yield* Effect.promise(() => ended)
        session.close()
        const events = dataOf(parseFrames(text))
        const end = checkRun(events)
        expect(end.status).toBe("completed")
        expect(events.filter((event) => event.delta === true)).toHaveLength(count)
        expect(end.output[0].content[0].text.length).toBe(count * 1024)
      }))
  })
})
