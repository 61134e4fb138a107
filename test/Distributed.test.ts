/**
 * Two server processes sharing one real Redis (examples/distributed.ts).
 */
import { Interrupt } from "@agentapp/core"
import { AgentAppRedis } from "@agentapp/redis"
import { Effect, Option } from "effect"
import { Redis } from "ioredis"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { checkRun } from "./support/protocol.ts"
import { type RedisServer, startRedisServer } from "./support/redis.ts"
import { nodeBin, type ServerProcess, startServer, waitFor, within } from "./support/server.ts"
import { readmeShellBlocks, runShell, startShellStream } from "./support/shell.ts"
import { dataOf, parseFrames, postJson, readStream, userText } from "./support/sse.ts"

const leaseTtlMs = 1_500
const startNode = (redisUrl: string) =>
  startServer(nodeBin, ["--disable-warning=ExperimentalWarning", "examples/distributed.ts"], {
    env: { REDIS_URL: redisUrl, FRIDAY_DELAY_MS: "5", LEASE_TTL_MS: String(leaseTtlMs) }
  })

let redis: RedisServer
let a: ServerProcess
let b: ServerProcess
const others: Array<ServerProcess> = []

beforeAll(async () => {
  redis = await startRedisServer()
  ;[a, b] = await Promise.all([startNode(redis.url), startNode(redis.url)])
})

afterAll(async () => {
  for (const node of [a, b, ...others]) node?.kill("SIGKILL")
  await redis?.stop()
})

/** The state a session's run recorded, read from Redis through the library. */
const stateOf = (userId: string, sessionId: string) =>
  Effect.runPromise(
    Interrupt.state({ userId, sessionId }).pipe(
      Effect.map(Option.map((record) => record.state)),
      Effect.map(Option.getOrUndefined),
      Effect.provide(AgentAppRedis.layer({ url: redis.url }))
    )
  )

const story = (ids: { session_id: string; user_id: string }) =>
  userText("Please write a very long story about a robot named Friday.", ids)

/** Starts a stream on a node; `streaming` resolves at its first content delta. */
const startStream = (node: ServerProcess, body: unknown) => {
  const streaming = Promise.withResolvers<void>()
  const done = postJson(`${node.url}/process`, body).then((response) => {
    if (response.status !== 200) throw new Error(`status ${response.status}`)
    return readStream(response, (event) => {
      if (event.object === "content" && event.delta) streaming.resolve()
    })
  })
  done.catch((error) => streaming.reject(error))
  return { streaming: streaming.promise, done }
}

const status = (url: string) => fetch(url).then((response) => response.status)

describe("two nodes, one Redis", () => {
  it("a stream on A is stopped by POST /stop sent to B", async () => {
    const ids = { session_id: `cross-${crypto.randomUUID()}`, user_id: "u" }
    const run = startStream(a, story(ids))
    await within(10_000, "A to stream", run.streaming)
    expect(await stateOf("u", ids.session_id)).toBe("RUNNING")
    const reply = await postJson(`${b.url}/stop`, ids)
    expect(reply.status).toBe(200)
    expect(await reply.json()).toEqual({ status: "success", message: "Interrupt signal broadcasted." })
    const last = checkRun(dataOf(await within(5_000, "A's stream to end", run.done)))
    expect(last.status).toBe("canceled")
    expect(await stateOf("u", ids.session_id)).toBe("STOPPED")
    await a.waitForOutput("story interrupted, state saved", 5_000)
  })

  it("a Responses API run streaming on A is cancelled by POST /responses/{id}/cancel sent to B, and B continues the session", async () => {
    const started = await postJson(`${a.url}/compatible-mode/v1/responses`, {
      model: "friday",
      input: "Please write a very long story about a robot named Friday.",
      stream: true
    })
    let id: string | undefined
    let sawText!: () => void
    const streaming = new Promise<void>((resolve) => (sawText = resolve))
    const frames: Array<any> = []
    const done = readStream(started, (event) => {
      frames.push(event)
      if (event.type === "response.created") id = event.response.id
      if (event.type === "response.output_text.delta") sawText()
    })
    await within(10_000, "the first text delta on A", streaming)
    const cancel = await postJson(`${b.url}/compatible-mode/v1/responses/${id}/cancel`, {})
    expect(cancel.status).toBe(200)
    await within(5_000, "A's stream to end", done)
    expect(frames.at(-1)).toMatchObject({ type: "response.incomplete", response: { status: "cancelled" } })
    // B continues the session of A's response: the session is free, and its history is there
    const next = await postJson(`${b.url}/compatible-mode/v1/responses`, { model: "friday", input: "Hello again", previous_response_id: id })
    expect(next.status).toBe(200)
    expect((await next.json() as any).status).toBe("completed")
  })

  it("an A2A task streaming on A is joined and canceled through B; B reads the task and continues its context", async () => {
    const rpc = (url: string, method: string, params: unknown) =>
      postJson(`${url}/a2a`, { jsonrpc: "2.0", id: method, method, params })
    const started = await rpc(a.url, "SendStreamingMessage", {
      message: { messageId: "d1", role: "ROLE_USER", parts: [{ text: "Tell me a long story" }] }
    })
    let task: { id: string; contextId: string } | undefined
    let sawText!: () => void
    const streaming = new Promise<void>((resolve) => (sawText = resolve))
    const results: Array<any> = []
    const done = readStream(started, (frame) => {
      results.push(frame.result)
      if (frame.result.task !== undefined) task = frame.result.task
      if (frame.result.artifactUpdate !== undefined) sawText()
    })
    await within(10_000, "the first chunk on A", streaming)
    // B joins the task running on A: the task as stored, then its end
    const joined: Array<any> = []
    const following = readStream(await rpc(b.url, "SubscribeToTask", { id: task!.id }), (frame) => joined.push(frame.result))
    const canceled: any = await rpc(b.url, "CancelTask", { id: task!.id }).then((reply) => reply.json())
    expect(canceled.result).toMatchObject({ id: task!.id, status: { state: "TASK_STATE_CANCELED" } })
    await within(5_000, "A's stream to end", done)
    expect(results.at(-1)).toMatchObject({ statusUpdate: { status: { state: "TASK_STATE_CANCELED" } } })
    await within(5_000, "B's subscription to end", following)
    expect(joined[0]).toMatchObject({ task: { id: task!.id, status: { state: "TASK_STATE_SUBMITTED" } } })
    expect(joined.at(-1)).toMatchObject({ statusUpdate: { taskId: task!.id, status: { state: "TASK_STATE_CANCELED" } } })
    await a.waitForOutput("story interrupted, state saved", 5_000)
    const read: any = await rpc(b.url, "GetTask", { id: task!.id }).then((reply) => reply.json())
    expect(read.result.status.state).toBe("TASK_STATE_CANCELED")
    const next: any = await rpc(b.url, "SendMessage", {
      message: { messageId: "d2", role: "ROLE_USER", parts: [{ text: "Hello again" }], contextId: task!.contextId }
    }).then((reply) => reply.json())
    expect(next.result.task.status.state).toBe("TASK_STATE_COMPLETED")
  })

  it("a run on B for a session running on A gets 409", async () => {
    const ids = { session_id: `busy-${crypto.randomUUID()}`, user_id: "u" }
    const run = startStream(a, story(ids))
    await within(10_000, "A to stream", run.streaming)
    const busy = await postJson(`${b.url}/process`, userText("hello", ids))
    expect(busy.status).toBe(409)
    expect(((await busy.json()) as any).error.code).toBe("session_busy")
    await postJson(`${a.url}/stop`, ids)
    expect(checkRun(dataOf(await run.done)).status).toBe("canceled")
    // and the session is free on B at once
    const next = await postJson(`${b.url}/process`, userText("hello", ids))
    expect(checkRun(dataOf(parseFrames(await next.text()))).status).toBe("completed")
  })

  it("multi-turn across nodes: B sees the history of turn 1 on A", async () => {
    const ids = { session_id: `turns-${crypto.randomUUID()}`, user_id: "u" }
    const turn1 = await postJson(`${a.url}/process`, userText("Hi, my name is Grace", ids))
    expect(checkRun(dataOf(parseFrames(await turn1.text()))).output.at(-1).content[0].text).toContain(
      "Nice to meet you, Grace!"
    )
    const turn2 = await postJson(`${b.url}/process`, userText("What is my name?", ids))
    const answer = checkRun(dataOf(parseFrames(await turn2.text())))
    expect(answer.output.at(-1).content[0].text).toContain("Your name is Grace")
  })

  it("Redis restarts while A streams: the stream completes, readiness is 503 meanwhile, then stops work again", async () => {
    const ids = { session_id: `outage-${crypto.randomUUID()}`, user_id: "u" }
    const run = startStream(a, story(ids))
    await within(10_000, "A to stream", run.streaming)

    await redis.stop()
    await waitFor("A's readiness to turn 503", async () => (await status(`${a.url}/readiness`)) === 503)
    const readiness = (await (await fetch(`${a.url}/readiness`)).json()) as any
    expect(readiness).toMatchObject({ status: "not_ready", reason: "dependency" })
    expect(Object.keys(readiness.checks)).toContain("interrupts")
    expect(await status(`${b.url}/readiness`)).toBe(503)
    expect(await status(`${a.url}/liveness`)).toBe(200)
    expect(await status(`${b.url}/liveness`)).toBe(200)
    // new runs are refused with a clear 503 while the backend is away
    const refused = await postJson(`${b.url}/process`, userText("hello"))
    expect(refused.status).toBe(503)
    expect(((await refused.json()) as any).error.code).toBe("backend_unavailable")

    await redis.start()
    const last = checkRun(dataOf(await within(30_000, "A's stream to complete", run.done)))
    expect(last.status).toBe("completed")

    await waitFor("A ready again", async () => (await status(`${a.url}/readiness`)) === 200)
    await waitFor("B ready again", async () => (await status(`${b.url}/readiness`)) === 200)
    const again = { session_id: `after-${crypto.randomUUID()}`, user_id: "u" }
    const next = startStream(a, story(again))
    await within(10_000, "A to stream", next.streaming)
    expect((await postJson(`${b.url}/stop`, again)).status).toBe(200)
    expect(checkRun(dataOf(await within(5_000, "the stopped stream", next.done))).status).toBe("canceled")
    // nothing crashed
    expect(a.child.exitCode).toBeNull()
    expect(b.child.exitCode).toBeNull()
  })

  it("a server started while Redis is unreachable says so, and is ready once Redis comes up", async () => {
    const late = await startRedisServer()
    await late.stop()
    const c = await startNode(late.url)
    others.push(c)
    expect(c.output()).toMatch(/Redis client unreachable at redis:\/\/127\.0\.0\.1:\d+/)
    expect(await status(`${c.url}/readiness`)).toBe(503)
    expect(await status(`${c.url}/liveness`)).toBe(200)
    await late.start()
    try {
      await waitFor("C ready once Redis is up", async () => (await status(`${c.url}/readiness`)) === 200)
      const run = await postJson(`${c.url}/process`, userText("hello"))
      expect(checkRun(dataOf(parseFrames(await run.text()))).status).toBe("completed")
    } finally {
      c.kill("SIGKILL")
      await late.stop()
    }
  })

  it("the README's two-replica commands work as written", async () => {
    const block = readmeShellBlocks().find((text) => text.includes("8091/process") && text.includes("8092/stop"))
    expect(block, "the README shows a story on 8091 stopped through 8092").toBeDefined()
    const local = (line: string) =>
      line.replace("127.0.0.1:8091", `127.0.0.1:${new URL(a.url).port}`)
        .replace("127.0.0.1:8092", `127.0.0.1:${new URL(b.url).port}`)
    const [streamCommand, stopCommand] = block!.split("\n").map(local)
    const terminal1 = startShellStream(streamCommand)
    await terminal1.streaming
    expect(JSON.parse(await runShell(stopCommand)).status).toBe("success")
    expect(checkRun(dataOf(parseFrames(await terminal1.ended))).status).toBe("canceled")
  })

  describe("Redis killed with -9 and restarted while a run streams (it loses every lease)", () => {
    // nodes whose story lasts long enough to outlive the outage and the settling after it
    const slowNode = () =>
      startServer(nodeBin, ["--disable-warning=ExperimentalWarning", "examples/distributed.ts"], {
        env: { REDIS_URL: redis.url, FRIDAY_DELAY_MS: "40", LEASE_TTL_MS: String(leaseTtlMs) }
      }).then((node) => {
        others.push(node)
        return node
      })

    for (const outageMs of [500, 3_000]) {
      it(`outage of ${outageMs} ms (lease ${leaseTtlMs} ms): the run keeps its session, B gets 409, a stop through B cancels it`, async () => {
        const [c, d] = await Promise.all([slowNode(), slowNode()])
        const ids = { session_id: `restart-${outageMs}-${crypto.randomUUID()}`, user_id: "u" }
        const run = startStream(c, story(ids))
        await within(10_000, "C to stream", run.streaming)
        await redis.stop({ hard: true })
        await new Promise((resolve) => setTimeout(resolve, outageMs))
        await redis.start()
        // for a moment after the outage D is not ready: the surviving runs take their leases first
        await waitFor("D to say it is settling", async () =>
          JSON.stringify(await (await fetch(`${d.url}/readiness`)).json()).includes("back from an outage"), 10_000, 20)
        await waitFor("C ready again", async () => (await status(`${c.url}/readiness`)) === 200, 20_000)
        await waitFor("D ready again", async () => (await status(`${d.url}/readiness`)) === 200, 20_000)
        // a second run in the session is refused: the running one took its lease again
        const second = await postJson(`${d.url}/process`, userText("hello", ids))
        expect(second.status).toBe(409)
        expect(await stateOf("u", ids.session_id)).toBe("RUNNING")
        // and a stop sent to D reaches it
        const stop = await postJson(`${d.url}/stop`, ids)
        expect(stop.status, await stop.clone().text()).toBe(200)
        expect(checkRun(dataOf(await within(5_000, "the stopped stream", run.done))).status).toBe("canceled")
        await waitFor("the STOPPED state", async () => (await stateOf("u", ids.session_id)) === "STOPPED")
        c.kill("SIGKILL")
        d.kill("SIGKILL")
      }, 60_000)
    }

    it("a run whose lease another run has taken is stopped with response canceled", async () => {
      const c = await slowNode()
      const ids = { session_id: `taken-${crypto.randomUUID()}`, user_id: "u" }
      const run = startStream(c, story(ids))
      await within(10_000, "C to stream", run.streaming)
      // what a partition longer than the lease leads to: another run holds the lease now
      const client = new Redis(redis.url)
      await client.set(`agentapp:lease:${"u".length}:u:${ids.session_id}`, "another-run", "PX", 60_000)
      client.disconnect()
      expect(checkRun(dataOf(await within(5_000, "the stream to be stopped", run.done))).status).toBe("canceled")
      await c.waitForOutput("was lost to another run", 5_000)
      c.kill("SIGKILL")
    }, 30_000)
  })

  it("kill -9 of A mid-run: a stop says no live run took it (it said 200), and the lease frees within its TTL", async () => {
    const ids = { session_id: `crash-${crypto.randomUUID()}`, user_id: "u" }
    const run = startStream(a, story(ids))
    await within(10_000, "A to stream", run.streaming)
    a.kill("SIGKILL")
    const killed = Date.now()
    await run.done.catch(() => undefined)
    const stop = await within(5_000, "the stop to answer", postJson(`${b.url}/stop`, ids))
    expect(stop.status).toBe(404)
    const refused = (await stop.json()) as any
    expect(refused.error.code).toBe("not_found")
    expect(refused.error.message).toContain("lease frees at")
    expect(Date.parse(refused.error.details.lease_expires_at)).toBeGreaterThan(killed)
    // right after the crash the session is still held
    expect((await postJson(`${b.url}/process`, userText("hello", ids))).status).toBe(409)
    let freed = 0
    await waitFor("B to get the session", async () => {
      const response = await postJson(`${b.url}/process`, userText("hello", ids))
      if (response.status !== 200) return false
      freed = Date.now() - killed
      return checkRun(dataOf(parseFrames(await response.text()))).status === "completed"
    })
    expect(freed).toBeLessThanOrEqual(leaseTtlMs + 1_000)
  })
})
