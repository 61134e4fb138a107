import { TaskQueue, Tasks } from "@agentapp/core"
import { AgentAppRedis, BullTaskQueue } from "@agentapp/redis"
import { describe, expect, it } from "@effect/vitest"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { Context, Duration, Effect, Layer, Option } from "effect"
import { createServer } from "node:http"
import { taskSuite } from "../../core/test/conformance/Tasks.ts"
import { Counter, serveTaskApp } from "../../../test/fixtures/TaskApp.ts"
import { acquireRedis, uniquePrefix } from "../../../test/support/redis.ts"

const backends = Layer.unwrap(Effect.map(
  Effect.acquireRelease(Effect.promise(() => acquireRedis()), (redis) => Effect.promise(() => redis.release())),
  ({ url }) => {
    const prefix = uniquePrefix("tasks")
    const redis = AgentAppRedis.layer({
      url,
      prefix,
      tasks: { prefix: `${prefix}:bull`, stalledInterval: Duration.seconds(1), lockDuration: Duration.seconds(2) }
    })
    return Layer.provideMerge(Counter.layerRedis, redis)
  }
))

taskSuite(
  "BullMQ",
  serveTaskApp(backends).pipe(
    Layer.provideMerge(NodeHttpServer.layer(createServer, { port: 0, host: "127.0.0.1" }))
  )
)

describe("BullTaskQueue", () => {
  it.live("accepts a task submitted the moment the layer is up", () =>
    Effect.gen(function*() {
      const { url } = yield* Effect.acquireRelease(
        Effect.promise(() => acquireRedis()),
        (redis) => Effect.promise(() => redis.release())
      )
      const context = yield* Layer.build(BullTaskQueue.layer({ url, prefix: uniquePrefix("eager") }))
      const tasks = Context.get(context, TaskQueue.TaskQueue)
      const id = yield* tasks.submit("eager", "noop", { n: 1 }, Tasks.jobOptions({}))
      const status = yield* tasks.status("eager", id)
      expect(Option.getOrThrow(status).status).toBe("pending")
    }))
})
