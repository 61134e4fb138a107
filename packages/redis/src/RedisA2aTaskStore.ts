/**
 * `A2a.TaskStore` on Redis: every node reads and cancels every task. A task
 * is a JSON string; two sorted sets (all tasks, and a context's) order them
 * by their latest change. All of it expires after the retention.
 *
 * @since 0.1.0
 */
import { A2a } from "@agentapp/core"
import { Duration, Effect, Layer, Option } from "effect"
import * as RedisConnection from "./RedisConnection.ts"

/**
 * @since 0.1.0
 */
export interface Options {
  /** A task is forgotten this long after its last change. Default 1 hour. */
  readonly retention?: Duration.Input | undefined
}

const fail = (error: { readonly message: string; readonly cause?: unknown }) =>
  new A2a.TaskStoreError({ message: error.message, cause: error.cause })

/**
 * Builds the store on the process's Redis connection.
 *
 * @since 0.1.0
 */
export const make = Effect.fnUntraced(function*(options?: Options) {
  const redis = yield* RedisConnection.RedisConnection
  const retention = Duration.toMillis(Duration.fromInputUnsafe(options?.retention ?? Duration.hours(1)))
  const { ping, use: run } = RedisConnection.commands(redis, fail)
  const taskKey = (id: string) => `${redis.prefix}:a2a:task:${id}`
  const allKey = `${redis.prefix}:a2a:tasks`
  const contextKey = (contextId: string) => `${redis.prefix}:a2a:context:${contextId}`

  return A2a.TaskStore.of({
    save: (record) =>
      Effect.asVoid(run((client) => {
        const { contextId, id } = record.task
        const stale = record.updatedAt - retention
        return client.multi()
          .set(taskKey(id), JSON.stringify(record), "PX", retention)
          .zadd(allKey, record.updatedAt, id)
          .zremrangebyscore(allKey, "-inf", stale)
          .pexpire(allKey, retention)
          .zadd(contextKey(contextId), record.updatedAt, id)
          .zremrangebyscore(contextKey(contextId), "-inf", stale)
          .pexpire(contextKey(contextId), retention)
          .exec()
      })),
    get: (taskId) =>
      Effect.map(
        run((client) => client.get(taskKey(taskId))),
        (json) => json === null ? Option.none() : Option.some(JSON.parse(json) as A2a.TaskRecord)
      ),
    page: (contextId, offset, count) =>
      run(async (client) => {
        const ids = await client.zrevrange(contextId === undefined ? allKey : contextKey(contextId), offset, offset + count - 1)
        if (ids.length === 0) return []
        const records = await client.mget(...ids.map(taskKey))
        // a task whose record expired before the sets were trimmed is left out
        return records.flatMap((json) => json === null ? [] : [JSON.parse(json) as A2a.TaskRecord])
      }),
    check: ping,
    local: false
  })
})

/**
 * The store as a layer, on a `RedisConnection`.
 *
 * @since 0.1.0
 */
export const layer = (options?: Options): Layer.Layer<A2a.TaskStore, never, RedisConnection.RedisConnection> =>
  Layer.effect(A2a.TaskStore, make(options))
