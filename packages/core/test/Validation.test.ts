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

  it.effect("an unknown route gets a JSON 404; a known path with the wrong method a JSON 405 with Allow", () =>
    Effect.gen(function*() {
      const url = yield* baseUrl
      const response = yield* Effect.promise(() => fetch(`${url}/nowhere`))
      expect(response.status).toBe(404)
      expect(((yield* Effect.promise(() => response.json())) as any).error.code).toBe("not_found")
      const wrongMethod = yield* Effect.promise(() => fetch(`${url}/process`))
      expect(wrongMethod.status).toBe(405)
      expect(wrongMethod.headers.get("allow")).toBe("POST")
      expect(((yield* Effect.promise(() => wrongMethod.json())) as any).error.code).toBe("method_not_allowed")
      const getOnly = yield* Effect.promise(() => postJson(`${url}/health`, {}))
      expect(getOnly.status).toBe(405)
      expect(getOnly.headers.get("allow")).toBe("GET, HEAD")
      yield* Effect.promise(() => getOnly.text())
    }))

  it.effect("HEAD on the health routes answers as GET does, without a body", () =>
    Effect.gen(function*() {
      const url = yield* baseUrl
      for (const path of ["/", "/health", "/readiness", "/liveness"]) {
        const response = yield* Effect.promise(() => fetch(`${url}${path}`, { method: "HEAD" }))
        expect(response.status, path).toBe(200)
        expect(response.headers.get("content-type")).toContain("application/json")
        expect(yield* Effect.promise(() => response.text())).toBe("")
      }
    }))

  it.effect("a path that is not valid percent-encoding gets a JSON 400", () =>
    Effect.gen(function*() {
      const url = yield* baseUrl
      const response = yield* Effect.promise(() => fetch(`${url}/tasks/word_stats/%ZZ`))
      expect(response.status).toBe(400)
      expect(((yield* Effect.promise(() => response.json())) as any).error.code).toBe("invalid_request")
    }))

  it.effect("a body nested deeper than 64 levels gets 400 invalid_request, in metadata or a data part", () =>
    Effect.gen(function*() {
      const url = yield* baseUrl
      const deep = (n: number) => "{\"a\":".repeat(n) + "1" + "}".repeat(n)
      for (const body of [
        `{"input":[{"role":"user","metadata":${deep(4500)},"content":[]}]}`,
        `{"input":[{"role":"user","content":[{"type":"data","data":${deep(4500)}}]}]}`,
        `{"input":[],"extra":${"[".repeat(65)}${"]".repeat(65)}}`
      ]) {
        const response = yield* Effect.promise(() => postJson(`${url}/process`, body))
        expect(response.status).toBe(400)
        const json: any = yield* Effect.promise(() => response.json())
        expect(json.error).toMatchObject({ code: "invalid_request" })
        expect(json.error.message).toContain("deeper than 64")
      }
      // 64 levels are accepted, and brackets inside strings do not count
      const ok = yield* Effect.promise(() =>
        postJson(
          `${url}/process`,
          `{"input":[],"stream":false,"extra":${"[".repeat(62)}"[[[[{{{{"${"]".repeat(62)}}`
        )
      )
      expect(ok.status).toBe(200)
      expect(((yield* Effect.promise(() => ok.json())) as any).status).toBe("completed")
    }))

  it.effect("a bad body's reply is bounded: at most 10 issues, and a large body is checked to its first issue", () =>
    Effect.gen(function*() {
      const url = yield* baseUrl
      const few = yield* Effect.promise(() => postJson(`${url}/process`, { input: Array(50).fill(1) }))
      const fewJson: any = yield* Effect.promise(() => few.json())
      expect(few.status).toBe(400)
      expect(fewJson.error.details).toHaveLength(10)
      expect(fewJson.error.message).toContain("50 issues, the first 10 in details")
      // about 1 MiB of bad elements: one issue, a reply of a few hundred bytes
      const many = yield* Effect.promise(() => postJson(`${url}/process`, { input: Array(340_000).fill(1) }))
      const text = yield* Effect.promise(() => many.text())
      expect(many.status).toBe(400)
      expect(text.length).toBeLessThan(1_000)
      expect(JSON.parse(text).error.details).toEqual([{ path: ["input", "0"], message: "Expected object" }])
    }))

  it.effect("state-changing routes need Content-Type: application/json (415), as a cross-site form post has none", () =>
    Effect.gen(function*() {
      const url = yield* baseUrl
      const body = JSON.stringify(userText("hello"))
      for (const path of ["/process", "/stop", "/process/task", "/items"]) {
        for (const headers of [{ "content-type": "text/plain" }, { "content-type": "application/x-www-form-urlencoded" }, {}]) {
          // a Blob without a type: fetch sends no Content-Type at all (a string body would get text/plain)
          const response = yield* Effect.promise(() =>
            fetch(`${url}${path}`, { method: "POST", headers, body: new Blob([body]) })
          )
          expect(response.status, `${path} ${JSON.stringify(headers)}`).toBe(415)
          expect(((yield* Effect.promise(() => response.json())) as any).error.code).toBe("unsupported_media_type")
        }
      }
      const withCharset = yield* Effect.promise(() =>
        fetch(`${url}/process`, {
          method: "POST",
          headers: { "content-type": "application/json; charset=utf-8" },
          body: JSON.stringify({ ...userText("hello"), stream: false })
        })
      )
      expect(withCharset.status).toBe(200)
      yield* Effect.promise(() => withCharset.text())
    }))

  it.effect("error messages never echo a large input: a 900 KB session id gets a short 404", () =>
    Effect.gen(function*() {
      const url = yield* baseUrl
      const response = yield* Effect.promise(() => postJson(`${url}/stop`, { session_id: "x".repeat(900_000) }))
      const text = yield* Effect.promise(() => response.text())
      expect(response.status).toBe(404)
      expect(text.length).toBeLessThan(1_000)
      expect(JSON.parse(text).error.code).toBe("not_found")
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
