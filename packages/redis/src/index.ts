/**
 * @agentapp/redis: the backends that make an agentapp work across nodes.
 *
 * @since 0.1.0
 */

/** Interrupts and sessions on Redis in one layer. @since 0.1.0 */
export * as AgentAppRedis from "./AgentAppRedis.ts"

/** The ioredis connections of a process. @since 0.1.0 */
export * as RedisConnection from "./RedisConnection.ts"

/** `InterruptBackend` on Redis. @since 0.1.0 */
export * as RedisInterrupt from "./RedisInterrupt.ts"

/** `SessionStore` on Redis. @since 0.1.0 */
export * as RedisSessionStore from "./RedisSessionStore.ts"

/** `RunLog` on Redis Streams: join and resume a run from any node. @since 0.1.0 */
export * as RedisRunLog from "./RedisRunLog.ts"

/** `A2a.TaskStore` on Redis: A2A tasks that every node reads and cancels. @since 0.1.0 */
export * as RedisA2aTaskStore from "./RedisA2aTaskStore.ts"

/** `TaskQueue` on BullMQ. @since 0.1.0 */
export * as BullTaskQueue from "./BullTaskQueue.ts"

/** Effect's RateLimiterStore on Redis: per-user request rates shared by every node. @since 0.1.0 */
export * as RedisRateLimiter from "./RedisRateLimiter.ts"
