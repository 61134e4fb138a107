import { expect, layer } from "@effect/vitest"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { Effect, Layer } from "effect"
import { HttpServer } from "effect/http"
import { createServer } from "node:http"
import { dataOf, parseFrames, postJson, userText } from "../../../test/support/sse.ts"
import { makeApp } from "./fixtures/TestApp.ts"

const TestServer = makeApp().Main.pipe(
  Layer.provideMerge(NodeHttpServer.layer(createServer, { port: 0, host: "127.0.0.1" }))
)
const baseUrl = HttpServer.addressFormattedWith((url) => Effect.succeed(url))
const request = (path: string, init?: RequestInit) =>
  Effect.flatMap(baseUrl, (url) =>
    Effect.promise(async () => {
      const response = await fetch(`${url}${path}`, init)
      return { response, text: await response.text() }
    }))
const post = (path: string, body?: unknown) =>
  Effect.flatMap(baseUrl, (url) =>
    Effect.promise(async () => {
      const response = body === undefined ? await fetch(`${url}${path}`, { method: "POST" }) : await postJson(`${url}${path}`, body)
      return { response, text: await response.text() }
    }))

layer(TestServer, { excludeTestServices: true })("endpoint", (it) => {
  it.effect("a synchronous Effect gives JSON", () =>
    Effect.gen(function*() {
      const { response, text } = yield* post("/sync")
      expect(response.status).toBe(200)
      expect(response.headers.get("content-type")).toContain("application/json")
      expect(JSON.parse(text)).toEqual({ msg: "Hello world" })
    }))

  it.effect("an asynchronous Effect gives JSON", () =>
    Effect.gen(function*() {
      const { text } = yield* post("/async")
      expect(JSON.parse(text)).toEqual({ msg: "async hello" })
    }))

  it.effect("a Stream is sent as SSE data frames, strings as JSON strings", () =>
    Effect.gen(function*() {
      const { response, text } = yield* post("/stream_numbers")
      expect(response.headers.get("content-type")).toContain("text/event-stream")
      expect(response.headers.get("cache-control")).toBe("no-cache")
      expect(text).toBe([0, 1, 2, 3, 4].map((i) => `data: ${JSON.stringify(`number: ${i}\n`)}\n\n`).join(""))
    }))

  it.effect("a Stream that fails after two items ends with the exact error frame", () =>
    Effect.gen(function*() {
      const { response, text } = yield* post("/stream_fail")
      expect(response.status).toBe(200)
      expect(dataOf(parseFrames(text))).toEqual([
        { n: 1 },
        { n: 2 },
        { error: "stream broke", error_type: "AgentFailure", message: "Error in streaming generator" }
      ])
    }))

  it.effect("a Stream that dies ends with a generic error frame: the defect's text never reaches the client", () =>
    Effect.gen(function*() {
      const { response, text } = yield* post("/stream_die")
      expect(response.status).toBe(200)
      expect(text).not.toContain("secret internal detail")
      expect(dataOf(parseFrames(text))).toEqual([
        { n: 1 },
        { error: "An unexpected error occurred", error_type: "internal_error", message: "Error in streaming generator" }
      ])
    }))

  it.effect("a failed Effect gives its status and tag; a defect a generic 500", () =>
    Effect.gen(function*() {
      const failed = yield* post("/fail")
      expect(failed.response.status).toBe(418)
      expect(JSON.parse(failed.text)).toEqual({ error: { code: "Teapot", message: "short and stout" } })
      const died = yield* post("/die")
      expect(died.response.status).toBe(500)
      expect(died.text).not.toContain("secret internal detail")
      expect(JSON.parse(died.text).error.code).toBe("internal_error")
    }))

  it.effect("typed query parameters are decoded, and bad ones get 400", () =>
    Effect.gen(function*() {
      const ok = yield* request("/add?a=2&b=40")
      expect(JSON.parse(ok.text)).toEqual({ sum: 42 })
      const bad = yield* request("/add?a=two&b=40")
      expect(bad.response.status).toBe(400)
      expect(JSON.parse(bad.text).error.code).toBe("invalid_request")
      const missing = yield* request("/add?a=1")
      expect(missing.response.status).toBe(400)
      expect(JSON.parse(missing.text).error.details[0].path).toEqual(["b"])
    }))

  it.effect("a query key given more than once is an array (the last one was kept)", () =>
    Effect.gen(function*() {
      expect(JSON.parse((yield* request("/tags?tag=a&tag=b&tag=c")).text)).toEqual({ tags: ["a", "b", "c"] })
      expect(JSON.parse((yield* request("/tags?tag=only")).text)).toEqual({ tags: ["only"] })
    }))

  it.effect("the raw request is available", () =>
    Effect.gen(function*() {
      const { text } = yield* request("/raw?x=1", { headers: { "x-custom": "abc" } })
      expect(JSON.parse(text)).toEqual({ method: "GET", url: "/raw?x=1", custom: "abc" })
    }))

  it.effect("a body that is a list of objects is decoded with its Schema", () =>
    Effect.gen(function*() {
      const ok = yield* post("/items", [{ name: "a", qty: 2 }, { name: "b", qty: 3 }])
      expect(JSON.parse(ok.text)).toEqual({ count: 2, total: 5 })
      const bad = yield* post("/items", [{ name: "a", qty: "two" }])
      expect(bad.response.status).toBe(400)
      expect(JSON.parse(bad.text).error.details[0].path).toEqual(["0", "qty"])
      const notJson = yield* post("/items", "{nope")
      expect(notJson.response.status).toBe(400)
    }))

  it.effect("an AgentRequest body keeps its unknown fields", () =>
    Effect.gen(function*() {
      const ok = yield* post("/agent_request", userText("hi", { session_id: "s-9", extra: 7 }))
      expect(JSON.parse(ok.text)).toEqual({ session_id: "s-9", input_count: 1, extra: 7 })
      const bad = yield* post("/agent_request", { input: [{ content: "hi" }] })
      expect(bad.response.status).toBe(400)
    }))

  it.effect("native HttpRouter routes and global middleware compose with the app", () =>
    Effect.gen(function*() {
      const native = yield* request("/native")
      expect(native.text).toBe("native route")
      expect(native.response.headers.get("x-powered-by")).toBe("agentapp-test")
      const sync = yield* post("/sync")
      expect(sync.response.headers.get("x-powered-by")).toBe("agentapp-test")
    }))
})

layer(TestServer, { excludeTestServices: true })("health", (it) => {
  it.effect("/ lists the service and only the routes that exist", () =>
    Effect.gen(function*() {
      const { response, text } = yield* request("/")
      expect(response.status).toBe(200)
      const body = JSON.parse(text)
      expect(body).toMatchObject({ name: "TestAgent", description: "The agent of the core tests", version: "9.9.9" })
      expect(body.endpoints).toMatchObject({
        process: "/process",
        health: "/health",
        readiness: "/readiness",
        liveness: "/liveness",
        sync: "/sync",
        stream_fail: "/stream_fail"
      })
      expect(body.endpoints.stop).toBe("/stop")
      expect(Object.keys(body.endpoints)).not.toContain("shutdown")
      // every listed route answers something other than 404
      for (const path of Object.values(body.endpoints) as Array<string>) {
        const get = yield* request(path)
        const answered = get.response.status !== 404 ? true : (yield* post(path, userText("x"))).response.status !== 404
        expect(answered, path).toBe(true)
      }
    }))

  it.effect("/health, /readiness and /liveness", () =>
    Effect.gen(function*() {
      const health = JSON.parse((yield* request("/health")).text)
      expect(health.status).toBe("healthy")
      expect(Number.isNaN(Date.parse(health.timestamp))).toBe(false)
      const readiness = yield* request("/readiness")
      expect(readiness.response.status).toBe(200)
      expect(JSON.parse(readiness.text)).toEqual({ status: "ready" })
      const liveness = yield* request("/liveness")
      expect(JSON.parse(liveness.text)).toEqual({ status: "alive" })
    }))

  it.effect("no unauthenticated process-control routes", () =>
    Effect.gen(function*() {
      for (const path of ["/shutdown", "/admin/status", "/admin/shutdown"]) {
        expect((yield* post(path)).response.status).toBe(404)
      }
    }))
})
