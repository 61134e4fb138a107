/**
 * The Redis backends of examples/distributed.ts and examples/worker.ts, from
 * `REDIS_URL` (redacted, as it may hold a password) and `REDIS_PREFIX`.
 */
import { AgentAppRedis } from "@agentapp/redis"
import { Config, Redacted } from "effect"

export const Redis = AgentAppRedis.layerConfig({
  url: Config.Redacted("REDIS_URL").pipe(Config.withDefault(Redacted.make("redis://127.0.0.1:6379"))),
  prefix: Config.String("REDIS_PREFIX").pipe(Config.withDefault("agentapp"))
})
