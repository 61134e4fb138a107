import { describe, expect, layer } from "@effect/vitest"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { Effect, Layer } from "effect"
import { HttpServer } from "effect/http"
import { createServer } from "node:http"
import * as Http from "node:http"
import { checkRun } from "../../../test/support/protocol.ts"
import { dataOf, parseFrames, postJson, userText } from "../../../test/support/sse.ts"
import { makeApp } from "./fixtures/TestApp.ts"

const TestServer = makeApp().Main.pipe(
  Layer.provideMerge(NodeHttpServer.layer(createServer, { port: 0, host: "127.0.0.1" }))
)
const baseUrl = HttpServer.addressFormattedWith((url) => Effect.succeed(url))
const twoMiB = JSON.stringify(userText("x".repeat(2 * 1024 * 1024)))

/** Bodies that must each get a 4xx JSON error (PROTOCOL.md §5). */
const malformed: ReadonlyArray<readonly [string, string, number]> = [
  ["not JSON", "hello there", 400],
  ["empty body", "", 400],
  ["truncated JSON", "{\"input\": [", 400],
  ["a JSON array", "[]", 400],
  ["JSON null", "null", 400],
  ["a JSON number", "42", 400],
  ["a JSON string", "\"input\"", 400],
  ["missing input", "{}", 400],
  ["input as a string", JSON.stringify({ input: "hello" }), 400],
  ["content as a string", JSON.stringify({ input: [{ role: "user", content: "hi" }] }), 400],
  ["n: 9", JSON.stringify({ input: [], n: 9 }), 400],
  ["n: 0", JSON.stringify({ input: [], n: 0 }), 400],
  ["n not an integer", JSON.stringify({ input: [], n: 1.5 }), 400],
  ["an unknown role", JSON.stringify({ input: [{ role: "robot", content: [] }] }), 400],
  ["an unknown message type", JSON.stringify({ input: [{ type: "telepathy", content: [] }] }), 400],
  ["text part without text", JSON.stringify({ input: [{ content: [{ type: "text" }] }] }), 400],
  ["video part without url", JSON.stringify({ input: [{ content: [{ type: "video" }] }] }), 400],
  ["an unknown content type", JSON.stringify({ input: [{ content: [{ type: "hologram", x: 1 }] }] }), 400],
  ["data part that is not an object", JSON.stringify({ input: [{ content: [{ type: "data", data: "x" }] }] }), 400],
  ["stream as a string", JSON.stringify({ input: [], stream: "yes" }), 400],
  ["session_id as a number", JSON.stringify({ input: [], session_id: 5 }), 400],
  ["temperature as a string", JSON.stringify({ input: [], temperature: "hot" }), 400],
  ["stop as numbers", JSON.stringify({ input: [], stop: [1, 2] }), 400],
  ["tools as a string", JSON.stringify({ input: [], tools: "all" }), 400],
  ["max_tokens not an integer", JSON.stringify({ input: [], max_tokens: 1.5 }), 400],
  ["metadata as a string", JSON.stringify({ input: [{ metadata: "x", content: [] }] }), 400],
  ["a message that is not an object", JSON.stringify({ input: [7] }), 400],
  ["a 2 MiB body", twoMiB, 413]
]

/** Sends a body with chunked transfer encoding (no content-length), the way a streaming client does. */
const postChunked = (url: string, body: string) =>
  new Promise<{ status: number; text: string }>((resolve, reject) => {
    const request = Http.request(url, { method: "POST", headers: { "content-type": "application/json" } }, (res) => {
      let text = ""
      res.setEncoding("utf8")
      res.on("data", (chunk) => (text += chunk))
      res.on("end", () => resolve({ status: res.statusCode!, text }))
    })
    request.on("error", reject)
    for (let i = 0; i < body.length; i += 64 * 1024) request.write(body.slice(i, i + 64 * 1024))
    request.end()
  })

layer(TestServer, { excludeTestServices: true })("bad input to POST /process", (it) => {
  for (const [name, body, status] of malformed) {
    it.effect(`${name} → ${status} with a JSON error`, () =>
      Effect.gen(function*() {
        const url = yield* baseUrl
        const response = yield* Effect.promise(() => postJson(`${url}/process`, body))
        expect(response.status).toBe(status)
        expect(response.headers.get("content-type")).toContain("application/json")
        const json: any = yield* Effect.promise(() => response.json())
        expect(json.error.code).toBe(status === 413 ? "payload_too_large" : "invalid_request")
        expect(typeof json.error.message).toBe("string")
      }))
  }

  it.effect("schema issues are reported with their path", () =>
    Effect.gen(function*() {
      const url = yield* baseUrl
      const response = yield* Effect.promise(() =>
        postJson(`${url}/process`, { input: [{ role: "user", content: "hi" }], n: 9 })
      )
      const json: any = yield* Effect.promise(() => response.json())
      const paths = json.error.details.map((issue: any) => issue.path.join("."))
      expect(paths).toContain("input.0.content")
      expect(paths).toContain("n")
    }))

  it.effect("a chunked body over the limit is refused with 413", () =>
    Effect.gen(function*() {
      const url = yield* baseUrl
      const { status, text } = yield* Effect.promise(() => postChunked(`${url}/process`, twoMiB))
      expect(status).toBe(413)
      expect(JSON.parse(text).error.code).toBe("payload_too_large")
    }))

  it.effect("an unknown route gets a JSON 404", () =>
    Effect.gen(function*() {
      const url = yield* baseUrl
      const response = yield* Effect.promise(() => fetch(`${url}/nowhere`))
      expect(response.status).toBe(404)
      expect(((yield* Effect.promise(() => response.json())) as any).error.code).toBe("not_found")
      const wrongMethod = yield* Effect.promise(() => fetch(`${url}/process`))
      expect(wrongMethod.status).toBe(404)
    }))

  it.effect("after all of it the server still serves, and nothing was lost", () =>
    Effect.gen(function*() {
      const url = yield* baseUrl
      const results = yield* Effect.promise(() =>
        Promise.all(malformed.map(([, body]) => postJson(`${url}/process`, body).then((r) => r.status)))
      )
      expect(results.every((status) => status >= 400 && status < 500)).toBe(true)
      const response = yield* Effect.promise(() => postJson(`${url}/process`, userText("still there?")))
      const last = checkRun(dataOf(parseFrames(yield* Effect.promise(() => response.text()))))
      expect(last.status).toBe("completed")
    }))
})

describe("body limit", () => {
  const Small = makeApp({ maxBodySize: 200 }).Main.pipe(
    Layer.provideMerge(NodeHttpServer.layer(createServer, { port: 0, host: "127.0.0.1" }))
  )
  layer(Small, { excludeTestServices: true })("a configured limit", (it) => {
    it.effect("is honoured", () =>
      Effect.gen(function*() {
        const url = yield* baseUrl
        const big = yield* Effect.promise(() => postJson(`${url}/process`, userText("y".repeat(300))))
        expect(big.status).toBe(413)
        const small = yield* Effect.promise(() => postJson(`${url}/process`, userText("y")))
        expect(small.status).toBe(200)
        yield* Effect.promise(() => small.text())
      }))
  })
})
