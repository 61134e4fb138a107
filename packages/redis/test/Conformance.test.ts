import { AgentAppRedis } from "@agentapp/redis"
import { Duration, Effect, Layer } from "effect"
import { interruptBackendSuite } from "../../core/test/conformance/InterruptBackend.ts"
import { runLogSuite } from "../../core/test/conformance/RunLog.ts"
import { sessionStoreSuite } from "../../core/test/conformance/SessionStore.ts"
import { taskQueueSuite } from "../../core/test/conformance/TaskQueue.ts"
import { acquireRedis, uniquePrefix } from "../../../test/support/redis.ts"

/** A real Redis for the suite: REDIS_URL, or a private redis-server. */
const RedisUrl = Effect.acquireRelease(
  Effect.promise(() => acquireRedis()),
  (redis) => Effect.promise(() => redis.release())
)

const backends = (maxHistory?: number) =>
  Layer.unwrap(Effect.map(RedisUrl, ({ url }) =>
    AgentAppRedis.layer({
      url,
      prefix: uniquePrefix("conformance"),
      sessions: { maxHistory },
      eventLog: { maxEvents: 50, retention: "300 millis" }
    })
  ))

interruptBackendSuite("redis", backends())
sessionStoreSuite("redis", backends(20), { maxHistory: 20 })
taskQueueSuite("BullMQ", backends())
runLogSuite("redis", backends(), { maxEvents: 50, retention: Duration.millis(300) })
