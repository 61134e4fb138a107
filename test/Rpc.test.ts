/**
 * The typed client against real servers in other processes: two Friday
 * nodes (examples/distributed.ts) on one real Redis.
 */
import { AgentClient, Interrupt, type Protocol } from "@agentapp/core"
import { AgentAppRedis } from "@agentapp/redis"
import { Effect, Fiber, Option, Stream } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { checkRun } from "./support/protocol.ts"
import { startProxy } from "./support/proxy.ts"
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
  Effect.runPromise(Effect.provide(effect, AgentClient.layer({ url: node.url })))

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

  it("process resumes through a cut connection, on another node: every event once, in order, to the end", async () => {
    const proxy = await startProxy(a.url)
    try {
      const ids = { session_id: `cut-${crypto.randomUUID()}`, user_id: "u" }
      let cuts = 0
      const events = await Effect.runPromise(Effect.gen(function*() {
        const client = yield* AgentClient.AgentClient
        return Array.from(yield* client.process(request(story, ids)).pipe(
          Stream.tap((event) =>
            Effect.sync(() => {
              // cut twice mid-run: after the 5th event, and after the 40th with the rest coming from B
              if (event.sequence_number === 4) cuts += proxy.cut()
              if (event.sequence_number === 39) {
                proxy.retarget(b.url)
                cuts += proxy.cut()
              }
            })
          ),
          Stream.runCollect
        ))
      }).pipe(Effect.provide(AgentClient.layer({ url: proxy.url }))))
      expect(cuts).toBeGreaterThanOrEqual(2)
      events.forEach((event, i) => expect(event.sequence_number).toBe(i))
      expect(checkRun(events).status).toBe("completed")
      const whole = await withClient(b, Effect.gen(function*() {
        const client = yield* AgentClient.AgentClient
        return Array.from(yield* Stream.runCollect(client.process(request(story, { session_id: `whole-${crypto.randomUUID()}` }))))
      }))
      expect(normalize(events)).toEqual(normalize(whole))
    } finally {
      await proxy.close()
    }
  })

  it("join follows a run by its id from another node, and getRun gives its response; an unknown id is NotFound", async () => {
    const ids = { session_id: `join-${crypto.randomUUID()}`, user_id: "u" }
    const started = await postJson(`${a.url}/process`, { ...userText(story, ids), background: true })
    const { id } = await started.json() as { id: string }
    const joined = await withClient(b, Effect.gen(function*() {
      const client = yield* AgentClient.AgentClient
      const events = Array.from(yield* Stream.runCollect(client.join(id, 9)))
      const response = yield* client.getRun(id)
      const missing = yield* Effect.flip(client.getRun("response_nope"))
      const missingJoin = yield* Effect.flip(Stream.runDrain(client.join("response_nope")))
      return { events, response, missing, missingJoin }
    }))
    joined.events.forEach((event, i) => expect(event.sequence_number).toBe(10 + i))
    expect(joined.events.at(-1)).toEqual(joined.response)
    expect(joined.response.status).toBe("completed")
    expect(joined.missing._tag).toBe("NotFound")
    expect(joined.missingJoin._tag).toBe("NotFound")
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

/** Posts an ndjson body to a node's /rpc and gives the status and the reply's lines. */
const rpcPost = async (node: ServerProcess, body: string, contentType = "application/x-ndjson") => {
  const response = await fetch(`${node.url}/rpc`, { method: "POST", headers: { "content-type": contentType }, body })
  const text = await response.text()
  return { status: response.status, text, lines: text.split("\n").filter((line) => line !== "").map((line) => JSON.parse(line)) }
}

const ndjson = (messages: ReadonlyArray<unknown>) => messages.map((message) => JSON.stringify(message)).join("\n") + "\n"

describe("bad input to /rpc", () => {
  it("a batch of 40 requests that all fail is answered, each with a typed error (17 or more hung)", async () => {
    const badPayloads = Array.from({ length: 20 }, (_, i) => ({
      _tag: "Request", id: String(i), tag: "Stop", payload: { session_id: 5 }, headers: []
    }))
    const unknownSessions = Array.from({ length: 20 }, (_, i) => ({
      _tag: "Request", id: String(100 + i), tag: "Stop", payload: { session_id: `nobody-${i}` }, headers: []
    }))
    const reply = await rpcPost(a, ndjson([...badPayloads, ...unknownSessions]))
    expect(reply.status, reply.text).toBe(200)
    const exits = reply.lines.filter((line) => line._tag === "Exit")
    expect(exits).toHaveLength(40)
    const errorOf = (exit: any) => exit.exit.cause[0]
    for (const exit of exits) {
      expect(exit.exit._tag).toBe("Failure")
      expect(errorOf(exit)._tag).toBe("Fail")
      expect(errorOf(exit).error._tag).toBe(Number(exit.requestId) < 100 ? "InvalidRequest" : "NotFound")
    }
    const invalid = exits.find((exit) => exit.requestId === "0")
    expect(errorOf(invalid).error.issues[0].path).toEqual(["session_id"])
  }, 20_000)

  it("a body that is not ndjson, an unknown procedure or a bad id gets a JSON 400; a form post 415", async () => {
    for (const body of [
      "hello there",
      ndjson([{ _tag: "Request", id: "1", tag: "Launch", payload: {}, headers: [] }]),
      ndjson([{ _tag: "Request", id: { x: 1 }, tag: "Stop", payload: {}, headers: [] }]),
      ndjson([[1, 2]]),
      ndjson([{ _tag: "Eof" }]),
      ""
    ]) {
      const reply = await rpcPost(a, body)
      expect(reply.status, body.slice(0, 40)).toBe(400)
      expect(JSON.parse(reply.text).error.code).toBe("invalid_request")
    }
    const form = await rpcPost(a, ndjson([{ _tag: "Ping" }]), "application/x-www-form-urlencoded")
    expect(form.status).toBe(415)
    // the node still answers the typed client
    const health = await withClient(a, Effect.flatMap(AgentClient.AgentClient, (agent) => agent.health))
    expect(health.status).toBe("healthy")
  })

  it("the typed client gets InvalidRequest, not a defect, for a request that does not match", async () => {
    const error = await withClient(
      a,
      Effect.flatMap(AgentClient.AgentClient, (agent) =>
        agent.process({ input: "not a list" } as unknown as Protocol.AgentRequest).pipe(Stream.runDrain, Effect.flip))
    )
    expect(error._tag).toBe("InvalidRequest")
  })
})
