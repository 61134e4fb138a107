import { AgentApp } from "@agentapp/core"
import { describe, expect, it } from "@effect/vitest"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { Context, Deferred, Duration, Effect, Exit, Fiber, Layer, Scope, Stream } from "effect"
import { HttpServer } from "effect/http"
import { createServer } from "node:http"
import { eventually } from "../../../test/support/eventually.ts"
import { freePort } from "../../../test/support/server.ts"
import { checkRun } from "../../../test/support/protocol.ts"
import { dataOf, parseFrames, postJson, readStream, userText } from "../../../test/support/sse.ts"

describe("lifespan", () => {
  it.live("layers are acquired before the first request and released after the last, in reverse order", () =>
    Effect.gen(function*() {
      const log: Array<string> = []
      const resource = (name: string) =>
        Layer.effectDiscard(Effect.acquireRelease(
          Effect.sync(() => log.push(`acquire ${name}`)),
          () => Effect.sync(() => log.push(`release ${name}`))
        ))

      // a resource shared with the handler through a service: the Effect form of app.state
      class Greeting extends Context.Service<Greeting, { readonly word: string }>()("test/Greeting") {
        static readonly layer = Layer.effect(
          Greeting,
          Effect.as(
            Effect.acquireRelease(
              Effect.sync(() => log.push("acquire greeting")),
              () => Effect.sync(() => log.push("release greeting"))
            ),
            Greeting.of({ word: "Hi" })
          )
        )
      }

      const App = AgentApp.make({ name: "Lifespan", shutdownGracePeriod: Duration.seconds(5) })
      const Query = App.query(() =>
        Effect.gen(function*() {
          const greeting = yield* Greeting
          log.push("request start")
          return Stream.range(1, 5).pipe(
            Stream.mapEffect((i) => Effect.as(Effect.sleep(Duration.millis(40)), AgentApp.text(`${greeting.word}${i} `))),
            Stream.ensuring(Effect.sync(() => log.push("request end")))
          )
        })
      )
      const Main = App.serve(Query).pipe(
        Layer.provideMerge(NodeHttpServer.layer(createServer, { port: 0, host: "127.0.0.1" })),
        Layer.provide(AgentApp.layerMemory),
        Layer.provide(Greeting.layer),
        Layer.provide(resource("B")),
        Layer.provide(resource("A"))
      )

      const scope = yield* Scope.make()
      const context = yield* Layer.buildWithScope(Main, scope)
      const url = HttpServer.formatAddress(Context.get(context, HttpServer.HttpServer).address)
      expect(log).toEqual(["acquire A", "acquire B", "acquire greeting"])

      // a run in flight when shutdown begins still completes, and release waits for it
      const started = Promise.withResolvers<void>()
      const run = postJson(`${url}/process`, userText("hello")).then((response) =>
        readStream(response, () => started.resolve())
      )
      yield* Effect.promise(() => started.promise)
      const closing = yield* Effect.forkChild(Scope.close(scope, Exit.void))
      const events = dataOf(yield* Effect.promise(() => run))
      yield* Fiber.join(closing)

      expect(checkRun(events).status).toBe("completed")
      expect(events.at(-1).output[0].content[0].text).toBe("Hi1 Hi2 Hi3 Hi4 Hi5 ")
      expect(log).toEqual([
        "acquire A",
        "acquire B",
        "acquire greeting",
        "request start",
        "request end",
        "release greeting",
        "release B",
        "release A"
      ])
    }))
})

describe("startup", () => {
  it.live("while the app's layers are built, readiness is 503, liveness 200, and requests get 503 starting", () =>
    Effect.gen(function*() {
      const port = yield* Effect.promise(() => freePort())
      const url = `http://127.0.0.1:${port}`
      const gate = yield* Deferred.make<void>()
      // a warm-up inside the app: the server already listens while it runs
      const WarmUp = Layer.effectDiscard(Deferred.await(gate))
      const App = AgentApp.make({ name: "Starting" })
      const Query = App.query(() => Stream.make(AgentApp.text("ready now")))
      const Main = App.serve(Layer.mergeAll(Query, WarmUp)).pipe(
        Layer.provide(AgentApp.layerMemory),
        Layer.provide(NodeHttpServer.layer(createServer, { port, host: "127.0.0.1" }))
      )
      const scope = yield* Scope.make()
      const building = yield* Effect.forkChild(Layer.buildWithScope(Main, scope))

      const status = (path: string, init?: RequestInit) =>
        Effect.promise(() => fetch(`${url}${path}`, init).then((r) => r.status, () => 0))
      yield* eventually(Effect.map(status("/readiness"), (code) => code === 503), 5_000)
      expect(yield* status("/liveness")).toBe(200)
      const early = yield* Effect.promise(() => postJson(`${url}/process`, userText("x")))
      expect(early.status).toBe(503)
      expect(((yield* Effect.promise(() => early.json())) as any).error.code).toBe("starting")

      yield* Deferred.succeed(gate, undefined)
      yield* Fiber.join(building)
      expect(yield* status("/readiness")).toBe(200)
      const run = yield* Effect.promise(() => postJson(`${url}/process`, userText("x")).then((r) => r.text()))
      expect(checkRun(dataOf(parseFrames(run))).status).toBe("completed")
      yield* Scope.close(scope, Exit.void)
    }))
})
