import { AgentApp } from "@agentapp/core"
import { describe, expect, it, layer } from "@effect/vitest"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { Effect, Layer } from "effect"
import { HttpServer } from "effect/http"
import { createServer } from "node:http"
import * as Http from "node:http"
import { checkRun } from "../../../test/support/protocol.ts"
import { dataOf, parseFrames, userText } from "../../../test/support/sse.ts"
import { makeApp } from "./fixtures/TestApp.ts"

const on = (cors: AgentApp.Options["cors"]) =>
  makeApp({ cors }).Main.pipe(Layer.provideMerge(NodeHttpServer.layer(createServer, { port: 0, host: "127.0.0.1" })))
const baseUrl = HttpServer.addressFormattedWith((url) => Effect.succeed(url))

/** A request as a browser sends it (an Origin header), with node:http, which lets it be set. */
const send = (url: string, method: string, headers: Record<string, string>, body?: string) =>
  Effect.promise(() =>
    new Promise<{ status: number; headers: Http.IncomingHttpHeaders; text: string }>((resolve, reject) => {
      const request = Http.request(url, { method, headers }, (response) => {
        let text = ""
        response.setEncoding("utf8")
        response.on("data", (chunk) => (text += chunk))
        response.on("end", () => resolve({ status: response.statusCode!, headers: response.headers, text }))
      })
      request.on("error", reject)
      request.end(body)
    })
  )

const preflight = (url: string, origin: string) =>
  send(url, "OPTIONS", {
    origin,
    "access-control-request-method": "POST",
    "access-control-request-headers": "content-type"
  })

describe("CORS", () => {
  layer(on(undefined), { excludeTestServices: true })("by default (off)", (it) => {
    it.effect("a preflight is not allowed, and replies carry no CORS header", () =>
      Effect.gen(function*() {
        const url = yield* baseUrl
        const answer = yield* preflight(`${url}/process`, "https://elsewhere.example")
        expect(answer.status).toBe(405)
        expect(answer.headers["access-control-allow-origin"]).toBeUndefined()
        const reply = yield* send(`${url}/health`, "GET", { origin: "https://elsewhere.example" })
        expect(reply.headers["access-control-allow-origin"]).toBeUndefined()
      }))
  })

  layer(on(true), { excludeTestServices: true })("cors: true", (it) => {
    it.effect("any origin, preflight and a streamed /process reply alike", () =>
      Effect.gen(function*() {
        const url = yield* baseUrl
        const answer = yield* preflight(`${url}/process`, "https://app.example")
        expect(answer.status).toBe(204)
        expect(answer.headers["access-control-allow-origin"]).toBe("*")
        expect(answer.headers["access-control-allow-methods"]).toContain("POST")
        expect(answer.headers["access-control-allow-headers"]).toBe("content-type")
        const body = JSON.stringify(userText("x", { mode: "slow", count: 3, interval_ms: 20 }))
        const streamed = yield* send(`${url}/process`, "POST", {
          origin: "https://app.example",
          "content-type": "application/json"
        }, body)
        expect(streamed.headers["transfer-encoding"]).toBe("chunked")
        expect(streamed.headers["access-control-allow-origin"]).toBe("*")
        expect(checkRun(dataOf(parseFrames(streamed.text))).status).toBe("completed")
      }))
  })

  layer(on({ origins: ["https://app.example", "https://admin.example"], credentials: true }), {
    excludeTestServices: true
  })("cors with origins and credentials", (it) => {
    it.effect("allows the listed origins with credentials, and no other", () =>
      Effect.gen(function*() {
        const url = yield* baseUrl
        const allowed = yield* preflight(`${url}/stop`, "https://admin.example")
        expect(allowed.status).toBe(204)
        expect(allowed.headers["access-control-allow-origin"]).toBe("https://admin.example")
        expect(allowed.headers["access-control-allow-credentials"]).toBe("true")
        const other = yield* preflight(`${url}/stop`, "https://evil.example")
        expect(other.headers["access-control-allow-origin"]).toBeUndefined()
        const endpoint = yield* send(`${url}/stream_numbers`, "POST", { origin: "https://app.example" })
        expect(endpoint.headers["access-control-allow-origin"]).toBe("https://app.example")
        expect(endpoint.text).toContain("number: 0")
      }))
  })

  it("credentials without explicit origins are refused when the app is made", () => {
    expect(() => AgentApp.make({ name: "x", cors: { credentials: true } })).toThrow(/credentials need explicit origins/)
  })
})
