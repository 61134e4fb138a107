/**
 * The typed client against real servers in other processes: two Friday
 * nodes (examples/distributed.ts) on one real Redis.
 */
import { AgentClient, Interrupt, type Protocol } from "@agentapp/core"
import { AgentAppRedis } from "@agentapp/redis"
import { Effect, Fiber, Option, Stream } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { checkRun } from "./support/protocol.ts"
import { type RedisServer, startRedisServer } from "./support/redis.ts"
import { nodeBin, type ServerProcess, startServer, waitFor } from "./support/server.ts"
import { dataOf, parseFrames, postJson, userText } from "./support/sse.ts"

let redis: RedisServer
let a: ServerProcess
let b: ServerProcess

const startNode = () =>
  startServer(nodeBin, ["--disable-warning=ExperimentalWarning", "examples/distributed.ts"], {
    env: { REDIS_URL: redis.url, FRIDAY_DELAY_MS: "5" }
  })

beforeAll(async () => {
  redis = await startRedisServer()
  ;[a, b] = await Promise.all([startNode(), startNode()])
})

afterAll(async () => {
  a?.kill("SIGKILL")
  b?.kill("SIGKILL")
  await redis?.stop()
})

/** Runs an Effect that uses a client of `node`. */
const withClient = <A, E>(node: ServerProcess, effect: Effect.Effect<A, E, AgentClient.AgentClient>) =>
  Effect.runPromise(Effect.provide(effect, AgentClient.AgentClient.layer({ url: node.url })))

const stateOf = (key: Interrupt.SessionKey) =>
  Effect.runPromise(
    Interrupt.state(key).pipe(
      Effect.map(Option.map((record) => record.state)),
      Effect.map(Option.getOrUndefined),
      Effect.provide(AgentAppRedis.layer({ url: redis.url }))
    )
  )

const request = (text: string, ids: { session_id: string; user_id?: string }) =>
  userText(text, ids) as unknown as Protocol.AgentRequest

/** An event without what differs between two runs of the same request. */
const normalize = (event: any): any => {
  if (Array.isArray(event)) return event.map(normalize)
  if (event === null || typeof event !== "object") return event
  const out: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(event)) {
    if (["id", "msg_id", "created_at", "completed_at", "session_id", "call_id"].includes(key)) continue
    out[key] = key === "arguments" && typeof value === "string"
      ? value
      : normalize(value)
  }
  return out
}

const key = (ids: { session_id: string; user_id: string }) => ({ userId: ids.user_id, sessionId: ids.session_id })

const story = "Please write a very long story about a robot named Friday."

describe("AgentClient", () => {
  it("process streams the same events as SSE /process for the same request", async () => {
    const viaSse = dataOf(parseFrames(
      await (await postJson(`${a.url}/process`, userText("Hello Friday", { session_id: "sse-1" }))).text()
    ))
    const viaRpc = await withClient(a, Effect.gen(function*() {
      const client = yield* AgentClient.AgentClient
      return Array.from(yield* Stream.runCollect(client.process(request("Hello Friday", { session_id: "rpc-1" }))))
    }))
    expect(checkRun(viaRpc).status).toBe("completed")
    expect(viaRpc.length).toBe(viaSse.length)
    expect(normalize(viaRpc)).toEqual(normalize(viaSse))
  })

  it("interrupting the client's stream stops the run: STOPPED within 200 ms, and the session is free", async () => {
    const key = { userId: "u", sessionId: `take-${crypto.randomUUID()}` }
    const events = await withClient(a, Effect.gen(function*() {
      const client = yield* AgentClient.AgentClient
      return Array.from(yield* client.process(request(story, { session_id: key.sessionId, user_id: key.userId })).pipe(
        Stream.take(10),
        Stream.runCollect
      ))
    }))
    const stoppedAt = Date.now()
    expect(events).toHaveLength(10)
    await waitFor("the run to be STOPPED", async () => (await stateOf(key)) === "STOPPED", 2_000)
    const elapsed = Date.now() - stoppedAt
    expect(elapsed).toBeLessThan(200)
    // the session is free for the next run
    const next = await withClient(b, Effect.gen(function*() {
      const client = yield* AgentClient.AgentClient
      return Array.from(yield* Stream.runCollect(client.process(request("Hi", { session_id: key.sessionId, user_id: key.userId }))))
    }))
    expect(checkRun(next).status).toBe("completed")
  })

  it("a fiber interrupt stops the run too", async () => {
    const key = { userId: "u", sessionId: `fiber-${crypto.randomUUID()}` }
    await withClient(a, Effect.gen(function*() {
      const client = yield* AgentClient.AgentClient
      const fiber = yield* Effect.forkChild(Stream.runDrain(client.process(request(story, { session_id: key.sessionId, user_id: key.userId }))))
      yield* Effect.promise(() => waitFor("the run to start", async () => (await stateOf(key)) === "RUNNING"))
      yield* Fiber.interrupt(fiber)
    }))
    await waitFor("the run to be STOPPED", async () => (await stateOf(key)) === "STOPPED", 2_000)
  })

  it("each typed error arrives as its own tag", async () => {
    const ids = { session_id: `errors-${crypto.randomUUID()}`, user_id: "u" }
    const tags = await withClient(a, Effect.gen(function*() {
      const client = yield* AgentClient.AgentClient
      const invalid = yield* Stream.runDrain(client.process({ input: "not a list" } as never)).pipe(Effect.flip)
      const notFound = yield* client.stop("nobody-runs-here").pipe(Effect.flip)
      const noTask = yield* client.getTask("no-such-task").pipe(Effect.flip)
      // a long run holds the session; a second one is refused
      const running = yield* Effect.forkChild(Stream.runDrain(client.process(request(story, ids))))
      yield* Effect.promise(() => waitFor("the run to start", async () => (await stateOf(key(ids))) === "RUNNING"))
      const busy = yield* Stream.runDrain(client.process(request("again", ids))).pipe(Effect.flip)
      yield* client.stop(ids.session_id, ids.user_id)
      yield* Fiber.join(running)
      return { invalid, notFound, noTask, busy }
    }))
    expect(tags.invalid._tag).toBe("InvalidRequest")
    expect((tags.invalid as any).issues.map((issue: any) => issue.path.join("."))).toContain("input")
    expect(tags.notFound._tag).toBe("NotFound")
    expect(tags.noTask._tag).toBe("NotFound")
    expect(tags.busy._tag).toBe("SessionBusy")
    expect((tags.busy as any).sessionId).toBe(ids.session_id)
  })

  it("streams from A, and Stop sent through a client connected to B cancels the run", async () => {
    const ids = { session_id: `cross-${crypto.randomUUID()}`, user_id: "u" }
    const events = await withClient(a, Effect.gen(function*() {
      const client = yield* AgentClient.AgentClient
      const collecting = yield* Effect.forkChild(Stream.runCollect(client.process(request(story, ids))))
      yield* Effect.promise(() => waitFor("the run to start", async () => (await stateOf(key(ids))) === "RUNNING"))
      yield* Effect.promise(() => withClient(b, AgentClient.AgentClient.use((other) => other.stop(ids.session_id, ids.user_id))))
      return Array.from(yield* Fiber.join(collecting))
    }))
    expect(checkRun(events).status).toBe("canceled")
  })

  it("SubmitTask and GetTask run a request in the background; Health answers", async () => {
    const result = await withClient(b, Effect.gen(function*() {
      const client = yield* AgentClient.AgentClient
      const submitted = yield* client.submitTask(request("Hello in the background", { session_id: `bg-${crypto.randomUUID()}` }))
      let status = yield* client.getTask(submitted.task_id)
      const deadline = Date.now() + 10_000
      while (status.status !== "finished" && status.status !== "error" && Date.now() < deadline) {
        yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 20)))
        status = yield* client.getTask(submitted.task_id)
      }
      return { submitted, status, health: yield* client.health }
    }))
    expect(result.submitted.status).toBe("submitted")
    expect(result.status.status).toBe("finished")
    expect((result.status.result as any).status).toBe("completed")
    expect(result.health).toMatchObject({ status: "healthy", name: "Friday", phase: "ready" })
  })
})
