/**
 * The types users get from the public builder and the client, inferred from
 * their handlers: checked by the compiler (`npm run typecheck`), each case
 * also run once so that the file is a test.
 */
import { AgentApp, AgentClient, type AgentRpc, type Protocol, type TaskQueue } from "@agentapp/core"
import { describe, expect, expectTypeOf, it } from "@effect/vitest"
import { Context, Effect, Layer, Schema, type Scope, Stream } from "effect"
import type { HttpRouter, HttpServer } from "effect/http"

class Model extends Context.Service<Model, { readonly complete: (prompt: string) => Effect.Effect<string> }>()(
  "test/Model"
) {}
class Audit extends Context.Service<Audit, { readonly log: (line: string) => Effect.Effect<void> }>()("test/Audit") {}
class ModelDown extends Schema.TaggedError<ModelDown>()("ModelDown", { message: Schema.String }) {}

const App = AgentApp.make({ name: "Types" })

/** What `query`, `task` and `endpoint` layers need beyond their handler's own services. */
type Base = AgentApp.ServeProvided

describe("AgentApp types", () => {
  it("query: the handler's services are the layer's requirements, whichever mix of Stream and Effect it returns", () => {
    const plain = App.query(() => Stream.make(AgentApp.text("hi")))
    expectTypeOf(plain).toEqualTypeOf<
      Layer.Layer<never, never, Base | AgentApp.QueryBackends>
    >()

    const mixed = App.query((request, context) => {
      expectTypeOf(request).toEqualTypeOf<Protocol.AgentRequest>()
      expectTypeOf(context.history).toEqualTypeOf<ReadonlyArray<Protocol.Message>>()
      return request.input.length === 0
        ? Stream.fromEffect(Effect.map(Audit.use((audit) => audit.log("empty")), () => AgentApp.text("nothing")))
        : Effect.gen(function*() {
          const model = yield* Model
          const answer = yield* model.complete("hi")
          if (answer === "") return yield* new ModelDown({ message: "empty" })
          return Stream.make(AgentApp.text(answer))
        })
    })
    expectTypeOf(mixed).toEqualTypeOf<Layer.Layer<never, never, Base | AgentApp.QueryBackends | Audit | Model>>()

    // a run's Scope is the run's own: it is not a requirement of the layer
    const scoped = App.query(() =>
      Effect.as(Effect.addFinalizer(() => Effect.void), Stream.make(AgentApp.text("hi")))
    )
    expectTypeOf(scoped).toEqualTypeOf<Layer.Layer<never, never, Base | AgentApp.QueryBackends>>()
    expect(Layer.isLayer(mixed)).toBe(true)
  })

  it("endpoint: decoded query and body, and the handler's services", () => {
    const add = App.endpoint(
      "GET",
      "/add",
      { query: Schema.Struct({ a: Schema.FiniteFromString, b: Schema.FiniteFromString }) },
      ({ body, query }) => {
        expectTypeOf(query).toEqualTypeOf<{ readonly a: number; readonly b: number }>()
        expectTypeOf(body).toEqualTypeOf<undefined>()
        return Effect.map(Model.use((model) => model.complete(`${query.a + query.b}`)), (text) => ({ text }))
      }
    )
    expectTypeOf(add).toEqualTypeOf<AgentApp.RouteLayer<never, Model>>()

    const items = App.endpoint("POST", "/items", { body: Schema.Array(Schema.String) }, ({ body }) => {
      expectTypeOf(body).toEqualTypeOf<ReadonlyArray<string>>()
      return Stream.fromIterable(body)
    })
    expectTypeOf(items).toEqualTypeOf<AgentApp.RouteLayer<never, never>>()

    const hello = App.endpoint("POST", "/hello", Effect.succeed({ msg: "hi" }))
    expectTypeOf(hello).toEqualTypeOf<AgentApp.RouteLayer<never, never>>()
    expect(Layer.isLayer(add)).toBe(true)
  })

  it("task: the decoded payload, and the handler's services but its Scope", () => {
    const task = App.task("/square", { payload: Schema.Struct({ x: Schema.Number }) }, (payload) => {
      expectTypeOf(payload).toEqualTypeOf<{ readonly x: number }>()
      return Effect.as(Effect.andThen(Effect.addFinalizer(() => Effect.void), Audit.use((audit) => audit.log("x"))), {
        square: payload.x ** 2
      })
    })
    expectTypeOf(task).toEqualTypeOf<Layer.Layer<never, never, Base | TaskQueue.TaskQueue | Audit>>()
    expect(Layer.isLayer(task)).toBe(true)
  })

  it("serve: what is left to provide is the server, the backends and the handlers' services", () => {
    const query = App.query(() => Effect.map(Model.use((model) => model.complete("hi")), (text) => Stream.make(AgentApp.text(text))))
    const hello = App.endpoint("POST", "/hello", Effect.as(Audit.use((audit) => audit.log("hello")), { msg: "hi" }))
    const served = App.serve(Layer.mergeAll(query, hello))
    expectTypeOf<Layer.Error<typeof served>>().toEqualTypeOf<TaskQueue.TaskQueueError>()
    expectTypeOf<Layer.Services<typeof served>>().toEqualTypeOf<
      HttpServer.HttpServer | AgentApp.QueryBackends | Model | Audit
    >()
    // with the backends and the services provided, only the server is left
    const ready = served.pipe(
      Layer.provide(AgentApp.layerMemory),
      Layer.provide(Layer.succeed(Model, Model.of({ complete: (prompt) => Effect.succeed(prompt) }))),
      Layer.provide(Layer.succeed(Audit, Audit.of({ log: () => Effect.void })))
    )
    expectTypeOf<Layer.Services<typeof ready>>().toEqualTypeOf<HttpServer.HttpServer>()
    expect(Layer.isLayer(ready)).toBe(true)
  })
})

describe("AgentClient types", () => {
  it("process streams protocol events (NotFound when a resumed run's log is gone); join, getRun, stop, submitTask, getTask and health carry their typed errors", () => {
    const program = Effect.gen(function*() {
      const agent = yield* AgentClient.AgentClient
      const events = agent.process({ input: [] })
      expectTypeOf(events).toEqualTypeOf<
        Stream.Stream<Protocol.Event, typeof AgentRpc.RunError.Type | AgentRpc.NotFound | AgentClient.ClientError>
      >()
      expectTypeOf(agent.join("response_1", 4)).toEqualTypeOf<
        Stream.Stream<Protocol.Event, AgentRpc.NotFound | AgentRpc.InvalidRequest | AgentRpc.Unavailable | AgentRpc.Forbidden | AgentClient.ClientError>
      >()
      expectTypeOf(agent.getRun("response_1")).toEqualTypeOf<
        Effect.Effect<
          Protocol.ResponseEvent,
          AgentRpc.NotFound | AgentRpc.InvalidRequest | AgentRpc.Unavailable | AgentRpc.Forbidden | AgentClient.ClientError
        >
      >()
      expectTypeOf(agent.stop("s")).toEqualTypeOf<
        Effect.Effect<
          void,
          AgentRpc.NotFound | AgentRpc.InvalidRequest | AgentRpc.Unavailable | AgentRpc.Forbidden | AgentClient.ClientError
        >
      >()
      expectTypeOf(agent.getTask("t")).toEqualTypeOf<
        Effect.Effect<
          typeof AgentRpc.TaskStatus.Type,
          AgentRpc.NotFound | AgentRpc.InvalidRequest | AgentRpc.Unavailable | AgentRpc.Forbidden | AgentClient.ClientError
        >
      >()
      expectTypeOf(agent.health).toEqualTypeOf<Effect.Effect<typeof AgentRpc.HealthStatus.Type, AgentClient.ClientError>>()
      return yield* Stream.runLast(events)
    })
    expectTypeOf(program).toEqualTypeOf<
      Effect.Effect<
        import("effect").Option.Option<Protocol.Event>,
        typeof AgentRpc.RunError.Type | AgentRpc.NotFound | AgentClient.ClientError,
        AgentClient.AgentClient
      >
    >()
    const layer = AgentClient.layer({ url: "http://127.0.0.1:1" })
    expectTypeOf(layer).toEqualTypeOf<Layer.Layer<AgentClient.AgentClient>>()
    expect(Layer.isLayer(layer)).toBe(true)
  })
})

// (Scope and HttpRouter are named only in types)
export type { HttpRouter, Scope }
