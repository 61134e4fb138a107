import { AgentAppRedis } from "@agentapp/redis"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { Duration, Effect, Layer } from "effect"
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
