/**
 * Auth end to end, on `API_KEYS="key-a=alice,key-b=bob" npm start`: every
 * route the server lists wants credentials (but the health probes and the
 * A2A card), a user reaches only their own runs, sessions and tasks, over
 * every front door and the typed client; per-user limits answer 429 with
 * `Retry-After`, in memory and across two nodes on Redis.
 */
import { AgentClient, type Protocol } from "@agentapp/core"
import { Effect, Exit, Stream } from "effect"
import { ClientFactory, JsonRpcTransportFactory } from "@a2a-js/sdk/client"
import { HttpAgent } from "@ag-ui/client"
import OpenAI from "openai"
import { spawn } from "node:child_process"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type RedisServer, startRedisServer } from "./support/redis.ts"
import { nodeBin, repoRoot, type ServerProcess, startServer, waitFor, within } from "./support/server.ts"
import { readmeShellBlocks, runShell } from "./support/shell.ts"

const keys = { API_KEYS: "key-a=alice,key-b=bob", FRIDAY_DELAY_MS: "5" }
const alice = { authorization: "Bearer key-a" }
const bob = { authorization: "Bearer key-b" }
const json = { "content-type": "application/json" }

const say = (text: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ input: [{ role: "user", content: [{ type: "text", text }] }], ...extra })

const stop = async (server: ServerProcess) => {
  server.kill("SIGTERM")
  await within(10_000, "the server to exit", server.exited)
}

/** Sends a request and gives its status and JSON (or text) body. */
const call = async (url: string, init: RequestInit = {}) => {
  const reply = await fetch(url, init)
  const text = await reply.text()
  let body: any = text
  try {
    body = JSON.parse(text)
  } catch {}
  return { status: reply.status, body, headers: reply.headers }
}

describe("auth on npm start with API_KEYS", () => {
  let server: ServerProcess
  beforeAll(async () => {
    server = await startServer("npm", ["start", "--silent"], { env: keys })
  })
  afterAll(() => stop(server))

  it("every route the server lists answers 401 without credentials or with a bad key; the probes and the A2A card stay open", async () => {
    const root = await call(`${server.url}/`, { headers: alice })
    expect(root.status).toBe(200)
    const routes: Array<string> = root.body.routes
    // the list is the router's: a route added later shows up here, and is tried below
    expect(routes).toEqual(expect.arrayContaining(["POST /process", "POST /stop", "POST /rpc", "GET /process/task/:task_id", "POST /a2a", "POST /ag-ui"]))
    expect(routes.length).toBeGreaterThan(15)
    const open = new Set(["GET /health", "GET /readiness", "GET /liveness", "GET /.well-known/agent-card.json", "GET /playground", "GET /docs"])
    for (const route of routes) {
      const [method, pattern] = route.split(" ")
      const path = pattern.replace(/:[a-z_]+/g, "x")
      for (const headers of [{}, { authorization: "Bearer not-a-key" }, { authorization: "Basic a2V5LWE6" }]) {
        const reply = await call(`${server.url}${path}`, { method, headers: { ...json, ...headers }, ...(method === "POST" ? { body: "{}" } : {}) })
        if (open.has(route)) expect(reply.status, route).toBe(200)
        else {
          expect(reply.status, `${route} with ${JSON.stringify(headers)}`).toBe(401)
          expect(reply.body.error.code).toBe("unauthorized")
          expect(reply.headers.get("www-authenticate")).toBe("Bearer")
        }
      }
    }
    // with a key, every route answers as it does without auth: never 401, never a server error
    for (const route of routes) {
      const [method, pattern] = route.split(" ")
      const reply = await call(`${server.url}${pattern.replace(/:[a-z_]+/g, "x")}`, { method, headers: { ...json, ...alice }, ...(method === "POST" ? { body: "{}" } : {}) })
      expect(reply.status, route).not.toBe(401)
      expect(reply.status, route).toBeLessThan(500)
    }
    // paths the router does not know are no way around it
    expect((await call(`${server.url}/nowhere`)).status).toBe(401)
  })

  it("a run's owner is the key's user: alice reads, joins and stops her run; bob gets 404 for all of it; a body naming bob is 403", async () => {
    const session = `s-${crypto.randomUUID()}`
    const started = await call(`${server.url}/process`, {
      method: "POST",
      headers: { ...json, ...alice },
      body: say("Tell me a long story", { session_id: session, background: true })
    })
    expect(started.status).toBe(200)
    const id: string = started.body.id
    expect((await call(`${server.url}/process/${id}`, { headers: alice })).body.object).toBe("response")
    expect((await call(`${server.url}/process/${id}`, { headers: bob })).status).toBe(404)
    expect((await call(`${server.url}/process/${id}/events`, { headers: bob })).status).toBe(404)
    const resumedByBob = await call(`${server.url}/process`, {
      method: "POST",
      headers: { ...json, ...bob, "last-event-id": "0" },
      body: say("x", { id, session_id: session })
    })
    expect(resumedByBob.status).toBe(404)
    // bob's stop of that session is his own session's: nothing runs there
    expect((await call(`${server.url}/stop`, { method: "POST", headers: { ...json, ...bob }, body: JSON.stringify({ session_id: session }) })).status).toBe(404)
    const named = await call(`${server.url}/stop`, {
      method: "POST",
      headers: { ...json, ...bob },
      body: JSON.stringify({ session_id: session, user_id: "alice" })
    })
    expect(named.status).toBe(403)
    expect(named.body.error.code).toBe("forbidden")
    expect((await call(`${server.url}/process`, {
      method: "POST",
      headers: { ...json, ...alice },
      body: say("hi", { user_id: "bob" })
    })).status).toBe(403)
    expect((await call(`${server.url}/stop`, { method: "POST", headers: { ...json, ...alice }, body: JSON.stringify({ session_id: session }) })).status).toBe(200)
    await waitFor("the run to end canceled", async () => (await call(`${server.url}/process/${id}`, { headers: alice })).body.status === "canceled")
  })

  it("tasks: only their submitter reads them (process tasks and an app's task)", async () => {
    for (const [path, body] of [["/process/task", say("Hello")], ["/tasks/word_stats", JSON.stringify({ text: "a b c" })]] as const) {
      const submitted = await call(`${server.url}${path}`, { method: "POST", headers: { ...json, ...alice }, body })
      expect(submitted.status, path).toBe(200)
      const taskUrl = `${server.url}${path}/${submitted.body.task_id}`
      await waitFor(`${path} to finish`, async () => (await call(taskUrl, { headers: alice })).body.status === "finished")
      const byBob = await call(taskUrl, { headers: bob })
      expect(byBob.status, path).toBe(404)
    }
  })

  it("the protocol adapters run as the key's user; A2A tasks are their owner's", async () => {
    const chat = await call(`${server.url}/compatible-mode/v1/chat/completions`, {
      method: "POST",
      headers: { ...json, ...alice },
      body: JSON.stringify({ model: "friday", messages: [{ role: "user", content: "Hello" }] })
    })
    expect(chat.status).toBe(200)
    expect(chat.body.choices[0].message.content).toContain("Hello, I am Friday!")
    const sent = await call(`${server.url}/a2a`, {
      method: "POST",
      headers: { ...json, ...alice },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "SendMessage", params: { message: { messageId: "m1", role: "ROLE_USER", parts: [{ text: "Hello" }] } } })
    })
    const taskId = sent.body.result.task.id
    expect(typeof taskId).toBe("string")
    const get = (headers: Record<string, string>) =>
      call(`${server.url}/a2a`, { method: "POST", headers: { ...json, ...headers }, body: JSON.stringify({ jsonrpc: "2.0", id: 2, method: "GetTask", params: { id: taskId } }) })
    expect((await get(alice)).body.result.id).toBe(taskId)
    expect((await get(bob)).body.error.code).toBe(-32001)
    const list = (headers: Record<string, string>) =>
      call(`${server.url}/a2a`, { method: "POST", headers: { ...json, ...headers }, body: JSON.stringify({ jsonrpc: "2.0", id: 3, method: "ListTasks", params: {} }) })
    expect((await list(alice)).body.result.tasks.map((task: { id: string }) => task.id)).toContain(taskId)
    expect((await list(bob)).body.result.tasks.map((task: { id: string }) => task.id)).not.toContain(taskId)
  })

  it("the README's commands work as written: Friday with API_KEYS, curl without and with a key", async () => {
    expect(readmeShellBlocks()).toContain(`API_KEYS="${keys.API_KEYS}" npm start`)
    const block = readmeShellBlocks().find((text) => text.includes("Authorization: Bearer key-a") && text.includes("curl -i"))
    expect(block, "the README has the auth curl commands").toBeDefined()
    const output = await runShell(block!.replaceAll("127.0.0.1:8090", `127.0.0.1:${new URL(server.url).port}`))
    expect(output).toContain("HTTP/1.1 401 Unauthorized")
    expect(output).toContain("Hello, I am Friday!")
  })

  it("the CLI takes --token or AGENTAPP_TOKEN; without, it says 401 and exits 1", async () => {
    const cli = (args: Array<string>, env: Record<string, string> = {}) =>
      new Promise<{ readonly code: number | null; readonly output: string }>((resolve) => {
        const child = spawn(nodeBin, ["--disable-warning=ExperimentalWarning", "packages/deploy/bin/agentapp.ts", "invoke", server.url, "Hello", ...args], {
          cwd: repoRoot,
          env: { ...process.env, ...env }
        })
        let output = ""
        child.stdout.on("data", (chunk) => (output += chunk))
        child.stderr.on("data", (chunk) => (output += chunk))
        child.once("close", (code) => resolve({ code, output }))
      })
    const refused = await within(20_000, "invoke without a token", cli([]))
    expect(refused.code).toBe(1)
    expect(refused.output).toContain("401")
    for (const [args, env] of [[["--token", "key-b"], {}], [[], { AGENTAPP_TOKEN: "key-a" }]] as const) {
      const answered = await within(20_000, "invoke with a token", cli([...args], env))
      expect(answered.code, answered.output).toBe(0)
      expect(answered.output).toContain("Hello, I am Friday!")
    }
  })

  it("OpenAI's and AG-UI's own clients with the key; another user cannot cancel a response; a wrong key is the SDK's AuthenticationError", async () => {
    const openai = (apiKey: string) => new OpenAI({ baseURL: `${server.url}/compatible-mode/v1`, apiKey, maxRetries: 0 })
    const answer = await openai("key-a").chat.completions.create({ model: "friday", messages: [{ role: "user", content: "Hello" }] })
    expect(answer.choices[0].message.content).toContain("Hello, I am Friday!")
    await expect(openai("key-c").models.list()).rejects.toBeInstanceOf(OpenAI.AuthenticationError)
    // alice's streamed response, cancelled by bob: not his (404), and it goes on to its end
    const stream = await openai("key-a").responses.create({ model: "friday", input: "Tell me a long story", stream: true })
    let id: string | undefined
    let status: string | undefined
    for await (const event of stream) {
      if (event.type === "response.created") {
        id = event.response.id
        const cancel = await call(`${server.url}/compatible-mode/v1/responses/${id}/cancel`, { method: "POST", headers: bob })
        expect(cancel.status).toBe(404)
        expect(cancel.body.error.message).toBeDefined()
      }
      if (event.type === "response.completed" || event.type === "response.incomplete") status = event.response.status
    }
    expect(status).toBe("completed")
    const agent = new HttpAgent({ url: `${server.url}/ag-ui`, threadId: `thread-${crypto.randomUUID()}`, headers: alice })
    agent.addMessage({ id: crypto.randomUUID(), role: "user", content: "Hello" })
    const types: Array<string> = []
    await agent.runAgent({}, { onEvent: ({ event }) => void types.push(event.type) })
    expect(types.at(-1)).toBe("RUN_FINISHED")
  })

  it("A2A's own client: the open card names the bearer scheme; with the key the SDK talks, without it is refused", async () => {
    const card = await call(`${server.url}/.well-known/agent-card.json`)
    expect(card.body.securitySchemes.bearer.httpAuthSecurityScheme.scheme).toBe("Bearer")
    expect(card.body.securityRequirements).toEqual([{ schemes: { bearer: { list: [] } } }])
    const withKey = (key: string | undefined): typeof fetch => (input, init) =>
      fetch(input, { ...init, headers: { ...Object.fromEntries(new Headers(init?.headers)), ...(key === undefined ? {} : { authorization: `Bearer ${key}` }) } })
    const client = (key: string | undefined) =>
      new ClientFactory({ transports: [new JsonRpcTransportFactory({ fetchImpl: withKey(key) })] }).createFromUrl(server.url)
    const message = {
      message: {
        messageId: "m-1",
        role: 1,
        parts: [{ content: { $case: "text" as const, value: "Hello" }, metadata: undefined, filename: "", mediaType: "" }],
        contextId: "",
        taskId: ""
      }
    }
    const task: any = await (await client("key-a")).sendMessage(message as any)
    expect(JSON.stringify(task)).toContain("Hello, I am Friday!")
    await expect((await client(undefined)).sendMessage(message as any)).rejects.toThrow(/401/)
  })

  it("the typed client: with a token it runs and reads its runs; another user's run is NotFound; without a token it is refused", async () => {
    const run = <A, E>(token: string | undefined, program: Effect.Effect<A, E, AgentClient.AgentClient>) =>
      Effect.runPromiseExit(Effect.provide(program, AgentClient.layer({ url: server.url, token })))
    const events = await run("key-a", Stream.runCollect(Stream.unwrap(AgentClient.AgentClient.useSync((agent) =>
      agent.process({ input: [{ role: "user", content: [{ type: "text", text: "Hello" }] }] })
    ))))
    expect(Exit.isSuccess(events)).toBe(true)
    const final = (Exit.isSuccess(events) ? [...events.value] : []).at(-1) as Protocol.ResponseEvent
    expect(final.status).toBe("completed")
    const mine = await run("key-a", AgentClient.AgentClient.use((agent) => agent.getRun(final.id)))
    expect(Exit.isSuccess(mine)).toBe(true)
    const theirs = await run("key-b", AgentClient.AgentClient.use((agent) => agent.getRun(final.id)))
    expect(Exit.isFailure(theirs) && JSON.stringify(theirs.cause)).toContain("NotFound")
    const named = await run("key-b", AgentClient.AgentClient.use((agent) => agent.stop("any-session", "alice")))
    expect(Exit.isFailure(named) && JSON.stringify(named.cause)).toContain("Forbidden")
    const anonymous = await run(undefined, AgentClient.AgentClient.use((agent) => agent.health))
    expect(Exit.isFailure(anonymous) && JSON.stringify(anonymous.cause)).toContain("401")
  })
})

describe("per-user limits", () => {
  it("in memory: runs per user and requests a minute, 429 with Retry-After; other users are apart", async () => {
    const server = await startServer("npm", ["start", "--silent"], { env: { ...keys, RUNS_PER_USER: "1", REQUESTS_PER_MINUTE: "8" } })
    try {
      const first = await call(`${server.url}/process`, { method: "POST", headers: { ...json, ...alice }, body: say("Tell me a long story", { background: true }) })
      expect(first.status).toBe(200)
      const second = await call(`${server.url}/process`, { method: "POST", headers: { ...json, ...alice }, body: say("Hello") })
      expect(second.status).toBe(429)
      expect(second.body.error.code).toBe("rate_limited")
      expect(second.headers.get("retry-after")).toBe("1")
      expect((await call(`${server.url}/process`, { method: "POST", headers: { ...json, ...bob }, body: say("Hello", { stream: false }) })).status).toBe(200)
      // alice has made 2 requests; 6 more are allowed this minute, then 429
      const statuses: Array<number> = []
      for (let i = 0; i < 7; i++) statuses.push((await call(`${server.url}/`, { headers: alice })).status)
      expect(statuses).toEqual([200, 200, 200, 200, 200, 200, 429])
      const limited = await call(`${server.url}/`, { headers: alice })
      expect(limited.body.error.code).toBe("rate_limited")
      expect(Number(limited.headers.get("retry-after"))).toBeGreaterThanOrEqual(1)
      expect(Number(limited.headers.get("retry-after"))).toBeLessThanOrEqual(60)
      // the probes are not counted, nor limited
      expect((await call(`${server.url}/health`)).status).toBe(200)
      expect((await call(`${server.url}/`, { headers: bob })).status).toBe(200)
    } finally {
      await stop(server)
    }
  })

  describe("on Redis, across two nodes", () => {
    let redis: RedisServer
    const nodes: Array<ServerProcess> = []
    beforeAll(async () => {
      redis = await startRedisServer()
      const env = { ...keys, REDIS_URL: redis.url, REDIS_PREFIX: `auth-${crypto.randomUUID().slice(0, 8)}`, RUNS_PER_USER: "1", REQUESTS_PER_MINUTE: "6" }
      nodes.push(...await Promise.all([0, 1].map(() => startServer(nodeBin, ["--disable-warning=ExperimentalWarning", "examples/distributed.ts"], { env }))))
    })
    afterAll(async () => {
      await Promise.all(nodes.map(stop))
      await redis?.stop()
    })

    it("a user's run on one node counts on the other; the request rate is counted once for both", async () => {
      const [a, b] = nodes
      const first = await call(`${a.url}/process`, { method: "POST", headers: { ...json, ...alice }, body: say("Tell me a long story", { background: true }) })
      expect(first.status).toBe(200)
      const elsewhere = await call(`${b.url}/process`, { method: "POST", headers: { ...json, ...alice }, body: say("Hello") })
      expect(elsewhere.status).toBe(429)
      expect(elsewhere.headers.get("retry-after")).toBe("1")
      // stopped from node b, the run ends on node a (the health probe is open and not counted)
      expect((await call(`${b.url}/stop`, { method: "POST", headers: { ...json, ...alice }, body: JSON.stringify({ session_id: first.body.session_id }) })).status).toBe(200)
      await waitFor("the run to end", async () => (await call(`${a.url}/health`)).body.active_runs === 0)
      // 3 of alice's 6 are spent; the next three pass on either node, the fourth is refused
      const statuses: Array<number> = []
      for (const node of [b, a, b, a]) statuses.push((await call(`${node.url}/`, { headers: alice })).status)
      expect(statuses).toEqual([200, 200, 200, 429])
      expect((await call(`${a.url}/`, { headers: bob })).status).toBe(200)
    })
  })
})
