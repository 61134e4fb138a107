import { AgentApp, SessionStore } from "@agentapp/core"
import { assert, describe, expect, layer } from "@effect/vitest"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { Context, Duration, Effect, Layer, Stream } from "effect"
import { HttpServer } from "effect/http"
import { createServer } from "node:http"
import * as net from "node:net"
import { checkRun } from "../../../test/support/protocol.ts"
import { waitFor } from "../../../test/support/server.ts"
import { dataOf, parseFrames, postJson, userText } from "../../../test/support/sse.ts"
import { flood, floodHeldBack, makeApp } from "./fixtures/TestApp.ts"

const TestServer = makeApp().Main.pipe(
  Layer.provideMerge(NodeHttpServer.layer(createServer, { port: 0, host: "127.0.0.1" }))
)

const baseUrl = HttpServer.addressFormattedWith((url) => Effect.succeed(url))

const call = <A>(f: (url: string) => Promise<A>) =>
  Effect.flatMap(baseUrl, (url) => Effect.promise(() => f(url)))

const process_ = (body: unknown) =>
  call(async (url) => {
    const response = await postJson(`${url}/process`, body)
    return { response, text: await response.text() }
  })

layer(TestServer, { excludeTestServices: true })("POST /process", (it) => {
  it.effect("streams a run whose events hold every protocol invariant", () =>
    Effect.gen(function*() {
      const before = Math.floor(Date.now() / 1000)
      const { response, text } = yield* process_(userText("Hello"))
      const after = Math.ceil(Date.now() / 1000)
      expect(response.status).toBe(200)
      expect(response.headers.get("content-type")).toContain("text/event-stream")
      expect(response.headers.get("cache-control")).toBe("no-cache")
      expect(response.headers.get("x-accel-buffering")).toBe("no")
      const frames = parseFrames(text)
      const events = dataOf(frames)
      // the id line is the sequence number; there is no event line
      expect(frames.map((frame) => frame.id)).toEqual(events.map((event) => String(event.sequence_number)))
      expect(frames.every((frame) => frame.event === undefined)).toBe(true)
      const last = checkRun(events)
      expect(last.status).toBe("completed")
      expect(last.output).toHaveLength(1)
      expect(last.output[0].content[0].text).toBe("Hello World!")
      expect(last.id).toMatch(/^response_[0-9a-f-]{36}$/)
      expect(last.created_at).toBeGreaterThanOrEqual(before)
      expect(last.created_at).toBeLessThanOrEqual(after)
      expect(last.completed_at).toBeGreaterThanOrEqual(last.created_at)
    }))

  it.effect("created_at is the time of this request, not of the process start", () =>
    Effect.gen(function*() {
      const first = checkRun(dataOf(parseFrames((yield* process_(userText("one"))).text)))
      // wait, on the clock, until the next whole second has begun
      const next = (first.created_at + 1) * 1000
      yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, Math.max(0, next - Date.now()) + 5)))
      const second = checkRun(dataOf(parseFrames((yield* process_(userText("two"))).text)))
      expect(second.created_at).toBeGreaterThan(first.created_at)
    }))

  it.effect("every kind of output becomes its message and content lifecycle", () =>
    Effect.gen(function*() {
      const { text } = yield* process_(userText("all", { mode: "all" }))
      const events = dataOf(parseFrames(text))
      const last = checkRun(events)
      expect(last.status).toBe("completed")
      const output = last.output
      expect(output.map((m: any) => [m.type, m.role])).toEqual([
        ["reasoning", "assistant"],
        ["plugin_call", "assistant"],
        ["plugin_call_output", "tool"],
        ["message", "assistant"],
        ["message", "assistant"],
        ["message", "assistant"]
      ])
      expect(output[0].content[0].text).toBe("Let me think.")
      expect(output[1].content[0].data).toEqual({ call_id: "c1", name: "add", arguments: "{\"a\":1,\"b\":2}" })
      expect(output[2].content[0].data).toEqual({ call_id: "c1", name: "add", output: "3" })
      expect(output[3].content.map((part: any) => part.type)).toEqual(["text", "data"])
      expect(output[3].content[0].text).toBe("The answer is 3.")
      expect(output[3].content[1].data).toEqual({ answer: 3 })
      expect(output[3].usage).toEqual({ input_tokens: 4, output_tokens: 3 })
      expect(output[4].content[0].text).toBe("Second message.")
      expect(output[5].content[0]).toMatchObject({ type: "image", image_url: "https://example.com/a.png" })
      expect(last.usage).toEqual({ input_tokens: 4, output_tokens: 3 })
      // message ids are msg_<uuid>, unique per message
      const ids = output.map((m: any) => m.id)
      expect(new Set(ids).size).toBe(ids.length)
      for (const id of ids) expect(id).toMatch(/^msg_[0-9a-f-]{36}$/)
    }))

  it.effect("stream:false returns the final response as JSON", () =>
    Effect.gen(function*() {
      const { response, text } = yield* process_(userText("Hello", { stream: false, id: "req-42" }))
      expect(response.status).toBe(200)
      expect(response.headers.get("content-type")).toContain("application/json")
      const body = JSON.parse(text)
      expect(body).toMatchObject({ object: "response", status: "completed", id: "req-42", error: null })
      expect(body.output[0].content[0].text).toBe("Hello World!")
      expect(typeof body.session_id).toBe("string")
    }))

  it.effect("a handler failure mid-stream ends in response failed with the error's tag", () =>
    Effect.gen(function*() {
      const { text } = yield* process_(userText("x", { mode: "fail" }))
      const events = dataOf(parseFrames(text))
      const last = checkRun(events)
      expect(last.status).toBe("failed")
      expect(last.error).toEqual({ code: "AgentFailure", message: "the model is unreachable" })
      // the partial message is closed, not left open
      expect(last.output[0]).toMatchObject({ status: "incomplete" })
      expect(last.output[0].content[0].text).toBe("partial")
      // the server keeps serving
      const again = checkRun(dataOf(parseFrames((yield* process_(userText("again"))).text)))
      expect(again.status).toBe("completed")
    }))

  it.effect("a defect gives AGENT_UNKNOWN_ERROR and no internal detail", () =>
    Effect.gen(function*() {
      const { text } = yield* process_(userText("x", { mode: "defect" }))
      const last = checkRun(dataOf(parseFrames(text)))
      expect(last.status).toBe("failed")
      expect(last.error.code).toBe("AGENT_UNKNOWN_ERROR")
      expect(text).not.toContain("secret internal detail")
      expect(text).not.toMatch(/at .*\.ts:\d+/)
    }))

  it.effect("ids: session_id generated when absent and echoed, user_id defaults to it, extra fields reach the handler", () =>
    Effect.gen(function*() {
      const anonymous = checkRun(dataOf(parseFrames((yield* process_(userText("x", { mode: "echo" }))).text)))
      const echoed = JSON.parse(anonymous.output[0].content[0].text)
      expect(echoed.session_id).toMatch(/^[0-9a-f-]{36}$/)
      expect(echoed.user_id).toBe(echoed.session_id)
      expect(anonymous.session_id).toBe(echoed.session_id)

      const named = checkRun(dataOf(parseFrames(
        (yield* process_(
          userText("x", { mode: "echo", session_id: "s-1", user_id: "u-1", model: "m", extra: { deep: [1, 2] } })
        )).text
      )))
      expect(named.session_id).toBe("s-1")
      expect(JSON.parse(named.output[0].content[0].text)).toEqual({
        extra: { deep: [1, 2] },
        session_id: "s-1",
        user_id: "u-1",
        model: "m"
      })
    }))

  it.effect("on the default keep-alive (15 s), a stream quiet for 120 ms at a time gets no comment", () =>
    Effect.gen(function*() {
      const { text } = yield* process_(userText("x", { mode: "slow", count: 3, interval_ms: 120 }))
      const frames = parseFrames(text)
      expect(frames.filter((frame) => frame.comment !== undefined)).toEqual([])
      expect(checkRun(dataOf(frames)).status).toBe("completed")
    }))

  it.effect("a run complete at once is one body with its length; a run that waits streams its first events at once", () =>
    Effect.gen(function*() {
      const url = yield* baseUrl
      const whole = yield* Effect.promise(() => postJson(`${url}/process`, userText("Hello")))
      const bytes = new Uint8Array(yield* Effect.promise(() => whole.arrayBuffer()))
      expect(whole.headers.get("content-type")).toContain("text/event-stream")
      expect(whole.headers.get("transfer-encoding")).toBeNull()
      expect(Number(whole.headers.get("content-length"))).toBe(bytes.length)
      expect(checkRun(dataOf(parseFrames(new TextDecoder().decode(bytes)))).status).toBe("completed")

      // three words 200 ms apart: the opening events come before the first word, and the rest follows
      const streamed = yield* Effect.promise(() =>
        postJson(`${url}/process`, userText("x", { mode: "slow", count: 3, interval_ms: 200 }))
      )
      expect(streamed.headers.get("content-length")).toBeNull()
      expect(streamed.headers.get("transfer-encoding")).toBe("chunked")
      const reader = streamed.body!.getReader()
      const decoder = new TextDecoder()
      const first = decoder.decode((yield* Effect.promise(() => reader.read())).value)
      const opening = dataOf(parseFrames(first))
      expect(opening.slice(0, 2).map((event) => event.status)).toEqual(["created", "in_progress"])
      expect(opening.some((event) => event.object === "response" && event.status === "completed")).toBe(false)
      let text = first
      while (true) {
        const { done, value } = yield* Effect.promise(() => reader.read())
        if (done) break
        text += decoder.decode(value, { stream: true })
      }
      const last = checkRun(dataOf(parseFrames(text)))
      expect(last.status).toBe("completed")
      expect(last.output[0].content[0].text).toBe("w1 w2 w3 ")
    }))

  it.effect("a streamed run and then a whole one on the same keep-alive connection: each head exact, once", () =>
    Effect.gen(function*() {
      const url = new URL(yield* baseUrl)
      const socket = yield* Effect.promise(() => connect(Number(url.port)))
      const streamed = yield* Effect.promise(() =>
        socket.exchange(userText("x", { mode: "slow", count: 3, interval_ms: 60, session_id: "same-socket" }))
      )
      // the head the platform wrote, once (the drain path keeps Node's copy of it compact)
      expect(streamed.head).toEqual([
        "HTTP/1.1 200 OK",
        "cache-control: no-cache",
        "x-accel-buffering: no",
        "content-type: text/event-stream",
        "x-powered-by: agentapp-test", // the app's middleware
        expect.stringMatching(/^Date: /),
        "Connection: keep-alive",
        "Keep-Alive: timeout=5",
        "Transfer-Encoding: chunked"
      ])
      expect(streamed.body.includes("HTTP/1.1")).toBe(false)
      const last = checkRun(dataOf(parseFrames(streamed.body)))
      expect(last.status).toBe("completed")
      expect(last.output[0].content[0].text).toBe("w1 w2 w3 ")

      const whole = yield* Effect.promise(() => socket.exchange(userText("Hello", { session_id: "same-socket-2" })))
      expect(whole.head[0]).toBe("HTTP/1.1 200 OK")
      expect(whole.head.map((line) => line.toLowerCase())).toContain(`content-length: ${Buffer.byteLength(whole.body)}`)
      expect(checkRun(dataOf(parseFrames(whole.body))).status).toBe("completed")
      socket.close()
    }))

  it.effect("a handler that fails once the run streams ends the streamed body in response failed", () =>
    Effect.gen(function*() {
      const url = yield* baseUrl
      const response = yield* Effect.promise(() => postJson(`${url}/process`, userText("x", { mode: "fail_later" })))
      expect(response.headers.get("transfer-encoding")).toBe("chunked")
      const last = checkRun(dataOf(parseFrames(yield* Effect.promise(() => response.text()))))
      expect(last.status).toBe("failed")
      expect(last.error).toEqual({ code: "AgentFailure", message: "the model is unreachable" })
      expect(last.output[0]).toMatchObject({ status: "incomplete" })
      expect(last.output[0].content[0].text).toBe("partial more")
    }))

  it.effect("a client that stops reading holds the handler back, and then gets every frame in order", () =>
    Effect.gen(function*() {
      const url = yield* baseUrl
      const count = 40_000 // 40 MB of deltas: more than the socket buffers of both ends hold
      const before = flood.produced
      const response = yield* Effect.promise(() =>
        postJson(`${url}/process`, userText("x", { mode: "flood", count, size: 1024 }))
      )
      const reader = response.body!.getReader()
      const decoder = new TextDecoder()
      let text = decoder.decode((yield* Effect.promise(() => reader.read())).value, { stream: true })
      // not reading: the handler must come to a stop well before its end
      const produced = yield* Effect.promise(() => floodHeldBack(before))
      expect(produced).toBeGreaterThan(0)
      expect(produced).toBeLessThan(count)
      while (true) {
        const { done, value } = yield* Effect.promise(() => reader.read())
        if (done) break
        text += decoder.decode(value, { stream: true })
      }
      const events = dataOf(parseFrames(text))
      const end = checkRun(events)
      expect(end.status).toBe("completed")
      expect(events.filter((event) => event.delta === true)).toHaveLength(count)
      expect(end.output[0].content[0].text.length).toBe(count * 1024)
    }))

  it.effect("two concurrent anonymous requests both succeed with distinct sessions", () =>
    Effect.gen(function*() {
      const [a, b] = yield* Effect.all([process_(userText("a")), process_(userText("b"))], { concurrency: 2 })
      const ra = checkRun(dataOf(parseFrames(a.text)))
      const rb = checkRun(dataOf(parseFrames(b.text)))
      expect(ra.status).toBe("completed")
      expect(rb.status).toBe("completed")
      expect(ra.session_id).not.toBe(rb.session_id)
    }))
})

describe("keep-alive", () => {
  const QuietServer = makeApp({ keepAlive: "30 millis" }).Main.pipe(
    Layer.provideMerge(NodeHttpServer.layer(createServer, { port: 0, host: "127.0.0.1" }))
  )
  layer(QuietServer, { excludeTestServices: true })("a quiet stream", (it) => {
    it.effect("gets keep-alive comments and still a valid run", () =>
      Effect.gen(function*() {
        const { text } = yield* process_(userText("x", { mode: "slow", count: 3, interval_ms: 120 }))
        const frames = parseFrames(text)
        assert.isTrue(frames.some((frame) => frame.comment === "keep-alive"))
        expect(checkRun(dataOf(frames)).status).toBe("completed")
      }))
  })
})

describe("options", () => {
  const App = AgentApp.make({
    name: "Options",
    processPath: "/agent/run",
    rpcPath: false,
    sessions: { history: false }
  })
  const Query = App.query((_request, context) =>
    Stream.make(AgentApp.text(`history ${context.history.length}`))
  )
  const Server = App.serve(Query).pipe(
    Layer.provideMerge(AgentApp.layerMemory),
    Layer.provideMerge(NodeHttpServer.layer(createServer, { port: 0, host: "127.0.0.1" }))
  )
  layer(Server, { excludeTestServices: true })("processPath, rpcPath and history", (it) => {
    it.effect("serve the query elsewhere, leave /rpc out, and keep no history", () =>
      Effect.gen(function*() {
        const url = yield* baseUrl
        const root: any = yield* Effect.promise(() => fetch(`${url}/`).then((r) => r.json()))
        expect(root.endpoints.process).toBe("/agent/run")
        expect(root.endpoints.rpc).toBeUndefined()
        expect((yield* Effect.promise(() => postJson(`${url}/process`, userText("x")))).status).toBe(404)
        expect((yield* Effect.promise(() => postJson(`${url}/rpc`, "{}"))).status).toBe(404)
        const ids = { session_id: "no-history", user_id: "u" }
        for (let turn = 0; turn < 2; turn++) {
          const text = yield* Effect.promise(() => postJson(`${url}/agent/run`, userText("x", ids)).then((r) => r.text()))
          expect(checkRun(dataOf(parseFrames(text))).output[0].content[0].text).toBe("history 0")
        }
        const store = yield* SessionStore.SessionStore
        expect(yield* store.history({ userId: "u", sessionId: "no-history" })).toEqual([])
      }))
  })
})

describe("services of the handler", () => {
  // provided to the query's layer only, so the server's request context does not have it
  class Counter extends Context.Service<Counter, { readonly next: Effect.Effect<number> }>()("test/Counter") {
    static readonly layer = Layer.sync(Counter, () => {
      let n = 0
      return Counter.of({ next: Effect.sync(() => ++n) })
    })
  }
  const App = AgentApp.make({ name: "Services", keepAlive: 0 })
  const Query = App.query(() =>
    Stream.range(1, 3).pipe(
      // every pull needs the service, also the ones after a wait
      Stream.mapEffect((i) =>
        Effect.map(Effect.andThen(Effect.sleep(Duration.millis(5)), Counter.use((counter) => counter.next)), (n) =>
          AgentApp.text(`${i}:${n} `))
      )
    )
  ).pipe(Layer.provide(Counter.layer))
  const Server = App.serve(Query).pipe(
    Layer.provideMerge(AgentApp.layerMemory),
    Layer.provideMerge(NodeHttpServer.layer(createServer, { port: 0, host: "127.0.0.1" }))
  )
  layer(Server, { excludeTestServices: true })("a service only the query's layer has", (it) => {
    it.effect("reaches every pull of every run", () =>
      Effect.gen(function*() {
        const url = yield* baseUrl
        const texts: Array<string> = []
        for (let run = 0; run < 2; run++) {
          const text = yield* Effect.promise(() => postJson(`${url}/process`, userText("x")).then((r) => r.text()))
          const last = checkRun(dataOf(parseFrames(text)))
          expect(last.status).toBe("completed")
          texts.push(last.output[0].content[0].text)
        }
        expect(texts).toEqual(["1:1 2:2 3:3 ", "1:4 2:5 3:6 "])
      }))
  })
})

describe("the scope of a run", () => {
  const finalized: Array<string> = []
  const App = AgentApp.make({ name: "Scopes", keepAlive: 0 })
  // a finalizer added while the stream runs belongs to the request, not to the app's layers
  const Query = App.query((request) =>
    Stream.fromEffect(Effect.as(
      Effect.addFinalizer(() => Effect.sync(() => finalized.push(request.session_id!))),
      AgentApp.text("x")
    ))
  )
  const Server = App.serve(Query).pipe(
    Layer.provideMerge(AgentApp.layerMemory),
    Layer.provideMerge(NodeHttpServer.layer(createServer, { port: 0, host: "127.0.0.1" }))
  )
  layer(Server, { excludeTestServices: true })("Effect.addFinalizer in a handler's stream", (it) => {
    it.effect("runs when its request ends, while the server goes on", () =>
      Effect.gen(function*() {
        const url = yield* baseUrl
        const text = yield* Effect.promise(() =>
          postJson(`${url}/process`, userText("x", { session_id: "scoped" })).then((r) => r.text())
        )
        expect(checkRun(dataOf(parseFrames(text))).status).toBe("completed")
        yield* Effect.promise(() => waitFor("the finalizer of the run", async () => finalized.includes("scoped"), 5_000))
      }))
  })
})

/**
 * One raw HTTP/1.1 connection: `exchange` POSTs to /process and reads one
 * response (chunked or with a length) off the socket, head lines and body.
 */
const connect = (port: number) =>
  new Promise<{
    readonly exchange: (body: unknown) => Promise<{ readonly head: Array<string>; readonly body: string }>
    readonly close: () => void
  }>((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1", () => resolve({ exchange, close: () => socket.destroy() }))
    socket.once("error", reject)
    let buffered = Buffer.alloc(0)
    let onData: (() => void) | undefined
    socket.on("data", (chunk) => {
      buffered = Buffer.concat([buffered, chunk])
      onData?.()
    })
    const exchange = (body: unknown) =>
      new Promise<{ head: Array<string>; body: string }>((done, fail) => {
        const payload = JSON.stringify(body)
        socket.once("error", fail)
        socket.once("close", () => fail(new Error("the connection closed")))
        onData = () => {
          const text = buffered.toString("latin1")
          const headEnd = text.indexOf("\r\n\r\n")
          if (headEnd < 0) return
          const head = text.slice(0, headEnd).split("\r\n")
          const rest = buffered.subarray(Buffer.byteLength(text.slice(0, headEnd + 4), "latin1"))
          const length = head.find((line) => line.toLowerCase().startsWith("content-length:"))
          let bodyBytes: Buffer | undefined
          let used = 0
          if (length !== undefined) {
            const n = Number(length.split(":")[1])
            if (rest.length < n) return
            bodyBytes = rest.subarray(0, n)
            used = n
          } else {
            const parts: Array<Buffer> = []
            let at = 0
            while (true) {
              const lineEnd = rest.indexOf("\r\n", at)
              if (lineEnd < 0) return
              const size = parseInt(rest.subarray(at, lineEnd).toString("latin1"), 16)
              if (rest.length < lineEnd + 2 + size + 2) return
              if (size === 0) {
                used = lineEnd + 4
                break
              }
              parts.push(rest.subarray(lineEnd + 2, lineEnd + 2 + size))
              at = lineEnd + 2 + size + 2
            }
            bodyBytes = Buffer.concat(parts)
          }
          buffered = rest.subarray(used)
          onData = undefined
          socket.removeAllListeners("close")
          socket.removeListener("error", fail)
          done({ head, body: bodyBytes.toString("utf8") })
        }
        socket.write(
          `POST /process HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n` +
            `Content-Length: ${Buffer.byteLength(payload)}\r\n\r\n${payload}`
        )
      })
  })
