import { AgentApp, TaskQueue, Tasks } from "@agentapp/core"
import { describe, expect, layer } from "@effect/vitest"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { Effect, Layer, Schema } from "effect"
import { HttpServer } from "effect/http"
import { createServer } from "node:http"
import { waitFor } from "../../../test/support/server.ts"
import { eventually } from "../../../test/support/eventually.ts"
import { postJson } from "../../../test/support/sse.ts"
import { Counter, serveTaskApp } from "../../../test/fixtures/TaskApp.ts"
import { taskSuite } from "./conformance/Tasks.ts"

const memory = Layer.mergeAll(AgentApp.layerMemory, Counter.layerMemory)
const on = <A, E, R>(app: Layer.Layer<A, E, R>) =>
  app.pipe(Layer.provideMerge(NodeHttpServer.layer(createServer, { port: 0, host: "127.0.0.1" })))

taskSuite("memory", on(serveTaskApp(memory)))

const baseUrl = HttpServer.addressFormattedWith((url) => Effect.succeed(url))

describe("roles", () => {
  layer(on(serveTaskApp(memory, "api")), { excludeTestServices: true })("api only", (it) => {
    it.effect("accepts tasks but runs none", () =>
      Effect.scoped(Effect.gen(function*() {
        const url = yield* baseUrl
        const submitted: any = yield* Effect.promise(() => postJson(`${url}/square`, { x: 2 }).then((r) => r.json()))
        const status: any = yield* Effect.promise(() => fetch(`${url}/square/${submitted.task_id}`).then((r) => r.json()))
        expect(status.status).toBe("pending")
        // the job waits in the queue for a worker: the first one to come (this test's) runs it,
        // where a worker of the app would have taken it as soon as it was submitted
        const tasks = yield* TaskQueue.TaskQueue
        yield* tasks.work("default", (job) => Effect.succeed({ ranBy: "the test", payload: job.payload }), {
          concurrency: 1
        })
        yield* eventually(Effect.map(
          tasks.status("default", submitted.task_id),
          (status) => status._tag === "Some" && status.value.status === "finished"
        ))
        const done = yield* tasks.status("default", submitted.task_id)
        expect(done._tag === "Some" && done.value.result).toEqual({ ranBy: "the test", payload: { x: 2 } })
      })))
  })

  layer(on(serveTaskApp(memory, "worker")), { excludeTestServices: true })("worker only", (it) => {
    it.effect("mounts no API routes, only health", () =>
      Effect.gen(function*() {
        const url = yield* baseUrl
        expect((yield* Effect.promise(() => postJson(`${url}/square`, { x: 2 }))).status).toBe(404)
        expect((yield* Effect.promise(() => postJson(`${url}/process`, { input: [] }))).status).toBe(404)
        // nor the app's own endpoints (POST /hello was 200 on a worker), nor /rpc
        expect((yield* Effect.promise(() => postJson(`${url}/hello`, {}))).status).toBe(404)
        expect((yield* Effect.promise(() => postJson(`${url}/rpc`, {}))).status).toBe(404)
        // and GET / lists only what it answers
        const root: any = yield* Effect.promise(() => fetch(`${url}/`).then((r) => r.json()))
        expect(Object.values(root.endpoints).sort()).toEqual(["/", "/health", "/liveness", "/readiness"])
        expect((yield* Effect.promise(() => fetch(`${url}/readiness`))).status).toBe(200)
        // and its worker runs what others enqueue
        const tasks = yield* TaskQueue.TaskQueue
        const id = yield* tasks.submit("default", "/square", { x: 3 }, Tasks.jobOptions({}))
        let status = yield* tasks.status("default", id)
        const deadline = Date.now() + 5_000
        while (status._tag === "Some" && status.value.status !== "finished" && Date.now() < deadline) {
          yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 20)))
          status = yield* tasks.status("default", id)
        }
        expect(status._tag === "Some" && status.value.result).toEqual({ square: 9 })
      }))
  })
})

describe("the scope of a task run", () => {
  const finalized: Array<number> = []
  const App = AgentApp.make({ name: "ScopedTasks" })
  const Task = App.task(
    "/scoped",
    { payload: Schema.Struct({ n: Schema.Number }) },
    ({ n }) =>
      Effect.as(Effect.addFinalizer(() => Effect.sync(() => finalized.push(n))), { n })
  )
  layer(on(App.serve(Task).pipe(Layer.provideMerge(AgentApp.layerMemory))), { excludeTestServices: true })(
    "Effect.addFinalizer in a task",
    (it) => {
      it.effect("runs when the run ends, while the server goes on", () =>
        Effect.gen(function*() {
          const url = yield* baseUrl
          const submitted: any = yield* Effect.promise(() => postJson(`${url}/scoped`, { n: 7 }).then((r) => r.json()))
          yield* Effect.promise(() =>
            waitFor("the task's finalizer", async () => {
              const status: any = await fetch(`${url}/scoped/${submitted.task_id}`).then((r) => r.json())
              return status.status === "finished" && finalized.includes(7)
            }, 5_000)
          )
        }))
    }
  )
})
