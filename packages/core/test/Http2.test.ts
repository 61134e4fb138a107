import { describe, expect, layer } from "@effect/vitest"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { Effect, Layer } from "effect"
import { HttpServer } from "effect/http"
import * as http2 from "node:http2"
import { checkRun } from "../../../test/support/protocol.ts"
import { dataOf, parseFrames, userText } from "../../../test/support/sse.ts"
import { makeApp } from "./fixtures/TestApp.ts"

// cleartext HTTP/2 (h2c): the platform serves it, and a streamed run is written to an Http2ServerResponse
const TestServer = makeApp({ keepAlive: "50 millis" }).Main.pipe(
  Layer.provideMerge(NodeHttpServer.layer(() => http2.createServer(), { port: 0, host: "127.0.0.1" }))
)

const post = (url: string, body: unknown) =>
  new Promise<{ status: number; text: string }>((resolve, reject) => {
    const session = http2.connect(url)
    session.on("error", reject)
    const stream = session.request({ ":method": "POST", ":path": "/process", "content-type": "application/json" })
    let status = 0
    let text = ""
    stream.setEncoding("utf8")
    stream.on("response", (headers) => (status = Number(headers[":status"])))
    stream.on("data", (chunk: string) => (text += chunk))
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
  })
})
