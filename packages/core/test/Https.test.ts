import { describe, expect, layer } from "@effect/vitest"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { Effect, Layer } from "effect"
import { HttpServer } from "effect/http"
import { readFileSync } from "node:fs"
import type { IncomingMessage } from "node:http"
import * as https from "node:https"
import * as path from "node:path"
import { checkRun } from "../../../test/support/protocol.ts"
import { dataOf, parseFrames, userText } from "../../../test/support/sse.ts"
import { flood, floodHeldBack, makeApp } from "./fixtures/TestApp.ts"

// HTTPS: a streamed run goes straight to the Node response, whose socket is a TLS socket here.
// The certificate is a self-signed test fixture for localhost and 127.0.0.1.
const tls = path.join(import.meta.dirname, "fixtures/tls")
const cert = readFileSync(path.join(tls, "cert.pem"))
const key = readFileSync(path.join(tls, "key.pem"))

const TestServer = makeApp({ keepAlive: "50 millis" }).Main.pipe(
  Layer.provideMerge(NodeHttpServer.layer(() => https.createServer({ key, cert }), { port: 0, host: "127.0.0.1" }))
)

// the platform formats the address as http://; the server speaks TLS
const baseUrl = HttpServer.addressFormattedWith((url) => Effect.succeed(url.replace(/^http:/, "https:")))

/** A POST over HTTPS that trusts only the fixture's certificate; `onChunk` sees the body as it arrives. */
const post = (url: string, body: unknown, onChunk?: (text: string, response: IncomingMessage) => void) =>
  new Promise<{ status: number; headers: IncomingMessage["headers"]; text: string }>(
    (resolve, reject) => {
      const request = https.request(url, { method: "POST", ca: cert, headers: { "content-type": "application/json" } }, (response) => {
        let text = ""
        response.setEncoding("utf8")
        response.on("data", (chunk: string) => {
          text += chunk
          onChunk?.(text, response)
        })
        response.on("end", () => resolve({ status: response.statusCode ?? 0, headers: response.headers, text }))
        response.on("error", reject)
      })
      request.on("error", reject)
      request.end(JSON.stringify(body))
    }
  )

layer(TestServer, { excludeTestServices: true })("HTTPS", (it) => {
  describe("POST /process", () => {
    it.effect("streams a run that waits, with keep-alive comments, to its terminal event; a whole run at once", () =>
      Effect.gen(function*() {
        const url = yield* baseUrl
        const streamed = yield* Effect.promise(() =>
          post(`${url}/process`, userText("x", { mode: "slow", count: 4, interval_ms: 120 }))
        )
        expect(streamed.status).toBe(200)
        expect(streamed.headers["transfer-encoding"]).toBe("chunked")
        const frames = parseFrames(streamed.text)
        expect(frames.some((frame) => frame.comment !== undefined)).toBe(true)
        const last = checkRun(dataOf(frames))
        expect(last.status).toBe("completed")
        expect(last.output[0].content[0].text).toBe("w1 w2 w3 w4 ")

        const whole = yield* Effect.promise(() => post(`${url}/process`, userText("Hello")))
        expect(whole.headers["content-length"]).toBe(String(Buffer.byteLength(whole.text)))
        expect(checkRun(dataOf(parseFrames(whole.text))).status).toBe("completed")
      }))

    it.effect("a stop mid-stream ends the run in response canceled", () =>
      Effect.gen(function*() {
        const url = yield* baseUrl
        const session_id = `tls-${crypto.randomUUID()}`
        let stopped: Promise<{ status: number; text: string }> | undefined
        const streamed = yield* Effect.promise(() =>
          post(`${url}/process`, userText("x", { mode: "endless", interval_ms: 20, session_id }), (text) => {
            // once a delta is out, stop the run
            if (stopped === undefined && text.includes("\"delta\":true")) stopped = post(`${url}/stop`, { session_id })
          })
        )
        const stop = yield* Effect.promise(() => stopped!)
        expect(stop.status).toBe(200)
        expect(JSON.parse(stop.text)).toEqual({ status: "success", message: "Interrupt signal broadcasted." })
        const last = checkRun(dataOf(parseFrames(streamed.text)))
        expect(last.status).toBe("canceled")
      }))

    it.effect("a client that stops reading holds the handler back through TLS, then gets every frame", () =>
      Effect.gen(function*() {
        const url = yield* baseUrl
        const count = 20_000 // 20 MB of deltas: far more than the TLS and socket buffers hold
        const before = flood.produced
        let paused: () => void
        const isPaused = new Promise<void>((resolve) => (paused = resolve))
        let response: IncomingMessage | undefined
        const done = post(`${url}/process`, userText("x", { mode: "flood", count, size: 1024 }), (_text, res) => {
          if (response !== undefined) return
          // not reading: the buffers fill, and the handler must come to a stop
          response = res
          response.pause()
          paused()
        })
        yield* Effect.promise(() => isPaused)
        const produced = yield* Effect.promise(() => floodHeldBack(before))
        expect(produced).toBeGreaterThan(0)
        expect(produced).toBeLessThan(count)
        response!.resume()
        const ended = yield* Effect.promise(() => done)
        const events = dataOf(parseFrames(ended.text))
        const end = checkRun(events)
        expect(end.status).toBe("completed")
        expect(events.filter((event) => event.delta === true)).toHaveLength(count)
        expect(end.output[0].content[0].text.length).toBe(count * 1024)
      }))
  })
})
