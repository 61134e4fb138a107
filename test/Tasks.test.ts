/**
 * Tasks on BullMQ across processes: an API process and separate worker
 * processes, sharing one real Redis (test/fixtures/TaskApp.ts).
 */
import { Redis } from "ioredis"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type RedisServer, startRedisServer } from "./support/redis.ts"
import { nodeBin, type ServerProcess, startServer, waitFor, within } from "./support/server.ts"
import { postJson } from "./support/sse.ts"

const prefix = "tasktest"
let redis: RedisServer
let client: Redis
const processes: Array<ServerProcess> = []

const start = async (role: "api" | "worker") => {
  const node = await startServer(nodeBin, ["--disable-warning=ExperimentalWarning", "test/fixtures/TaskApp.ts"], {
    // not the defaults: a short lease, so that a /process/task retried after a kill -9 finds its session
    // free within seconds (30 s by default), and 8 jobs at a time per worker for the 1,000-task run
    env: { REDIS_URL: redis.url, REDIS_PREFIX: prefix, ROLE: role, LEASE_TTL_MS: "2000", TASK_CONCURRENCY: "8" }
  })
  processes.push(node)
  return node
}

const stop = async (node: ServerProcess) => {
  node.kill("SIGTERM")
  const exit = await within(15_000, "the process to exit", node.exited)
  expect(exit, node.output()).toEqual({ code: 0, signal: null })
}

const counter = async (key: string) => Number(await client.get(`${prefix}:counter:${key}`) ?? 0)

/** Runs `f` over `items`, `limit` at a time. */
const pool = async <A, B>(items: ReadonlyArray<A>, limit: number, f: (item: A) => Promise<B>): Promise<Array<B>> => {
  const results: Array<B> = new Array(items.length)
  let next = 0
  await Promise.all(Array.from({ length: limit }, async () => {
    while (next < items.length) {
      const i = next++
      results[i] = await f(items[i])
    }
  }))
  return results
}

const statusOf = (api: ServerProcess, path: string, id: string) =>
  fetch(`${api.url}${path}/${id}`).then(async (response) => ({ code: response.status, body: (await response.json()) as any }))

/** Polls until every task has ended, with a deadline. */
const allEnded = async (api: ServerProcess, path: string, ids: ReadonlyArray<string>, ms: number) => {
  const deadline = Date.now() + ms
  let pending = [...ids]
  const results = new Map<string, any>()
  while (pending.length > 0) {
    if (Date.now() > deadline) throw new Error(`${pending.length} tasks not ended within ${ms} ms`)
    const statuses = await pool(pending, 50, (id) => statusOf(api, path, id))
    pending = pending.filter((id, i) => {
      const { body, code } = statuses[i]
      if (code === 200 && (body.status === "finished" || body.status === "error")) {
        results.set(id, body)
        return false
      }
      return true
    })
    if (pending.length > 0) await new Promise((resolve) => setTimeout(resolve, 100))
  }
  return results
}

beforeAll(async () => {
  redis = await startRedisServer()
  client = new Redis(redis.url)
})

afterAll(async () => {
  for (const node of processes) node.kill("SIGKILL")
  client?.disconnect()
  await redis?.stop()
})

describe("BullMQ across processes", () => {
  let api: ServerProcess
  let workerA: ServerProcess
  let workerB: ServerProcess

  it("1,000 tasks submitted over HTTP all finish on two worker processes, each run exactly once", async () => {
    ;[api, workerA, workerB] = await Promise.all([start("api"), start("worker"), start("worker")])
    const numbers = Array.from({ length: 1000 }, (_, n) => n)
    const submitted = await pool(numbers, 50, async (n) => {
      const response = await postJson(`${api.url}/count`, { n })
      expect(response.status).toBe(200)
      return ((await response.json()) as any).task_id as string
    })
    expect(new Set(submitted).size).toBe(1000)
    const results = await allEnded(api, "/count", submitted, 120_000)
    expect([...results.values()].every((body) => body.status === "finished")).toBe(true)
    expect(submitted.map((id) => results.get(id).result.n)).toEqual(numbers)
    const counts = await pool(numbers, 50, (n) => counter(`count:${n}`))
    expect(counts.every((count) => count === 1)).toBe(true)
    // both worker processes were serving the queue
    expect(workerA.output()).toContain("worker started on queue counting")
    expect(workerB.output()).toContain("worker started on queue counting")
  }, 180_000)

  it("kill -9 of a worker mid-task: the stalled job is picked up again and finishes", async () => {
    await stop(workerB)
    const key = crypto.randomUUID()
    const submitted = (await (await postJson(`${api.url}/sleepy`, { key, ms: 1_500 })).json()) as any
    // the job is active in BullMQ a moment before its handler runs: wait for the handler itself
    await waitFor("the task's handler to start", async () => (await counter(`sleepy:${key}`)) === 1, 10_000, 20)
    expect((await statusOf(api, "/sleepy", submitted.task_id)).body.status).toBe("running")
    workerA.kill("SIGKILL")
    await workerA.exited
    expect(await counter(`sleepy:${key}`)).toBe(1)
    const workerC = await start("worker")
    const result = (await allEnded(api, "/sleepy", [submitted.task_id], 30_000)).get(submitted.task_id)
    expect(result).toMatchObject({ status: "finished", result: { key } })
    // it ran again on the new worker
    expect(await counter(`sleepy:${key}`)).toBe(2)
    await stop(workerC)
  }, 60_000)

  it("kill -9 of a worker mid /process/task: the retried run appends the turn to the history once", async () => {
    const worker = await start("worker")
    const session = `retried-${crypto.randomUUID()}`
    const request = { input: [{ role: "user", content: [{ type: "text", text: "only once" }] }], session_id: session, mode: "counted" }
    const submitted = (await (await postJson(`${api.url}/process/task`, request)).json()) as any
    await waitFor("the run to start", async () => (await counter(`process:${session}`)) === 1, 10_000, 20)
    worker.kill("SIGKILL")
    await worker.exited
    const again = await start("worker")
    const result = (await allEnded(api, "/process/task", [submitted.task_id], 30_000)).get(submitted.task_id)
    expect(result).toMatchObject({ status: "finished", result: { status: "completed" } })
    expect(await counter(`process:${session}`)).toBe(2)
    const history = (await client.lrange(`${prefix}:session:${session.length}:${session}:${session}:history`, 0, -1))
      .map((json) => JSON.parse(json))
    expect(history.map((message) => message.role)).toEqual(["user", "assistant"])
    expect(history[0].content[0].text).toBe("only once")
    await stop(again)
  }, 60_000)

  it("an API restart loses no queued task", async () => {
    // no worker runs now: the tasks wait in Redis
    const ids = await pool(Array.from({ length: 20 }, (_, i) => 10_000 + i), 10, async (n) =>
      ((await (await postJson(`${api.url}/count`, { n })).json()) as any).task_id as string)
    const queued = await statusOf(api, "/count", ids[0])
    expect(queued.body.status).toBe("pending")
    await stop(api)
    api = await start("api")
    expect((await statusOf(api, "/count", ids[0])).body.status).toBe("pending")
    const worker = await start("worker")
    const results = await allEnded(api, "/count", ids, 30_000)
    expect([...results.values()].every((body) => body.status === "finished")).toBe(true)
    for (let i = 0; i < 20; i++) expect(await counter(`count:${10_000 + i}`)).toBe(1)
    await stop(worker)
    await stop(api)
  }, 60_000)
})
