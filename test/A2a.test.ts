/**
 * A2A on `npm start` (Friday) with the official `@a2a-js/sdk` client, over
 * the v1.0 method names and the 0.3 ones: the agent card, a message sent
 * and streamed, a task read and listed, a context continued, a long task
 * canceled mid-stream (its run stops, its session is free), a task joined
 * while it runs, a busy context refused, and malformed requests answered
 * with JSON-RPC errors.
 */
import { Client, ClientFactory } from "@a2a-js/sdk/client"
import { LegacyJsonRpcTransport } from "@a2a-js/sdk/compat/v0_3/client"
import { beforeAll, describe, expect, it } from "vitest"
import { useFriday, waitFor } from "./support/server.ts"
import { readmeShellBlocks, runShell } from "./support/shell.ts"

const server = useFriday()
let v1: Client
let v03: Client

// the SDK's enums, by value
const COMPLETED = 3
const CANCELED = 5
const WORKING = 2
const USER = 1

beforeAll(async () => {
  v1 = await new ClientFactory().createFromUrl(server.url)
  const card = await v1.getAgentCard()
  v03 = new Client(new LegacyJsonRpcTransport({ endpoint: `${server.url}/a2a` }), card)
})

const activeRuns = () => fetch(`${server.url}/health`).then((reply) => reply.json()).then((body: any) => body.active_runs as number)

let messages = 0
const message = (text: string, extra: { contextId?: string; taskId?: string } = {}) => ({
  message: {
    messageId: `m-${++messages}`,
    role: USER,
    parts: [{ content: { $case: "text" as const, value: text }, metadata: undefined, filename: "", mediaType: "" }],
    contextId: extra.contextId ?? "",
    taskId: extra.taskId ?? "",
    metadata: undefined,
    extensions: [],
    referenceTaskIds: []
  },
  configuration: undefined,
  metadata: undefined,
  tenant: ""
})

const textOf = (task: any): string =>
  (task.artifacts ?? []).flatMap((artifact: any) => artifact.parts).map((part: any) => part.content?.value ?? "").join("")

describe.each([["v1.0", () => v1], ["0.3", () => v03]] as const)("A2A %s", (version, client) => {
  it("sends a message: a completed task with Friday's answer as its artifact, read back with GetTask", async () => {
    const task: any = await client().sendMessage(message("Hello Friday") as any)
    expect(task.status.state).toBe(COMPLETED)
    expect(textOf(task)).toContain("Hello, I am Friday!")
    expect(task.contextId).not.toBe("")
    const read: any = await client().getTask({ id: task.id, tenant: "", historyLength: undefined })
    expect(read.status.state).toBe(COMPLETED)
    expect(textOf(read)).toBe(textOf(task))
    expect(read.history[0].parts[0].content.value).toBe("Hello Friday")
  })

  it("streams a message: the task, working, the answer's chunks, the tool call as a status message, completed last", async () => {
    const events: Array<any> = []
    for await (const event of client().sendMessageStream(message("Hello Friday") as any)) events.push(event.payload)
    expect(events[0].$case).toBe("task")
    expect(events.at(-1)).toMatchObject({ $case: "statusUpdate", value: { status: { state: COMPLETED } } })
    const chunks = events.filter((event) => event.$case === "artifactUpdate")
    expect(chunks.length).toBeGreaterThan(3)
    expect(chunks[0].value.append).toBe(false)
    expect(chunks.at(-1).value.lastChunk).toBe(true)
    const text = chunks.flatMap((chunk) => chunk.value.artifact.parts).map((part: any) => part.content.value).join("")
    expect(text).toContain("Your message has 2 words")
    const tool = events.find((event) => event.$case === "statusUpdate" && event.value.status.message?.metadata?.type === "plugin_call")
    expect(tool.value.status.message.parts[0].content.value).toMatchObject({ name: "word_stats" })
    const final: any = await client().getTask({ id: events[0].value.id, tenant: "", historyLength: undefined })
    expect(textOf(final)).toBe(text)
  })

  it("contextId continues the session: Friday remembers the name", async () => {
    const first: any = await client().sendMessage(message("My name is Ada") as any)
    const second: any = await client().sendMessage(message("Who am I?", { contextId: first.contextId }) as any)
    expect(second.contextId).toBe(first.contextId)
    expect(textOf(second)).toContain("Your name is Ada")
    expect(textOf(await client().sendMessage(message("Who am I?") as any))).not.toContain("Ada")
  })

  it("cancels a long task mid-stream: the stream ends canceled, the run stops, the context takes a new message", async () => {
    const events: Array<any> = []
    let canceled: any
    for await (const event of client().sendMessageStream(message("Tell me a long story") as any)) {
      events.push(event.payload)
      if (event.payload?.$case === "artifactUpdate" && canceled === undefined) {
        canceled = await client().cancelTask({ id: event.payload.value.taskId, tenant: "", metadata: undefined })
      }
    }
    expect(canceled.status.state).toBe(CANCELED)
    expect(events.at(-1)).toMatchObject({ $case: "statusUpdate", value: { status: { state: CANCELED } } })
    await waitFor("no active run", async () => (await activeRuns()) === 0)
    const task: any = await client().getTask({ id: canceled.id, tenant: "", historyLength: undefined })
    expect(task.status.state).toBe(CANCELED)
    const again: any = await client().sendMessage(message("Hello again", { contextId: task.contextId }) as any)
    expect(again.status.state).toBe(COMPLETED)
    // a task that has ended cannot be canceled
    const refused = await client().cancelTask({ id: task.id, tenant: "", metadata: undefined }).catch((error) => error)
    expect(refused).toBeInstanceOf(Error)
    expect(String(refused.message)).toMatch(/already TASK_STATE_CANCELED/)
  })

  it("joins a running task with SubscribeToTask: the task so far, then its events until it ends", async () => {
    const started: any = await (client() as any).sendMessage({
      ...message("Tell me a long story"),
      configuration: { acceptedOutputModes: [], historyLength: undefined, returnImmediately: true, taskPushNotificationConfig: undefined }
    })
    expect([WORKING, 1]).toContain(started.status.state)
    const joined: Array<any> = []
    for await (const event of client().resubscribeTask({ id: started.id, tenant: "" })) {
      joined.push(event.payload)
      if (joined.filter((item) => item.$case === "artifactUpdate").length === 2) {
        await client().cancelTask({ id: started.id, tenant: "", metadata: undefined })
      }
    }
    expect(joined[0]).toMatchObject({ $case: "task", value: { id: started.id } })
    expect(joined.at(-1)).toMatchObject({ $case: "statusUpdate", value: { status: { state: CANCELED } } })
    await waitFor("no active run", async () => (await activeRuns()) === 0)
  })
})

describe("A2A over the wire", () => {
  const rpc = (body: unknown, init?: RequestInit) =>
    fetch(`${server.url}/a2a`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: typeof body === "string" ? body : JSON.stringify(body),
      ...init
    })

  it("lists tasks with ListTasks (v1.0) and tasks/list, newest first, filtered by context and state", async () => {
    const task: any = await v1.sendMessage(message("Hello Friday") as any)
    const listed = await v1.listTasks({ contextId: task.contextId, tenant: "", status: 0, pageToken: "" } as any)
    expect(listed.tasks.map((item: any) => item.id)).toEqual([task.id])
    const completed: any = await rpc({ jsonrpc: "2.0", id: 7, method: "ListTasks", params: { status: "TASK_STATE_COMPLETED", pageSize: 2 } })
      .then((reply) => reply.json())
    expect(completed.result.tasks).toHaveLength(2)
    expect(completed.result.tasks[0].id).toBe(task.id)
    expect(completed.result.nextPageToken).not.toBe("")
    const legacy: any = await rpc({ jsonrpc: "2.0", id: 8, method: "tasks/list", params: { contextId: task.contextId } }).then((reply) => reply.json())
    expect(legacy.result.tasks[0]).toMatchObject({ kind: "task", id: task.id, status: { state: "completed" } })
  })

  it("answers 0.3's message/send in 0.3's shapes: kind, lowercase states, typed parts", async () => {
    const reply: any = await rpc({
      jsonrpc: "2.0",
      id: "a",
      method: "message/send",
      params: { message: { kind: "message", messageId: "x1", role: "user", parts: [{ kind: "text", text: "Hello Friday" }] } }
    }).then((response) => response.json())
    expect(reply).toMatchObject({ jsonrpc: "2.0", id: "a", result: { kind: "task", status: { state: "completed" } } })
    expect(reply.result.artifacts[0].parts[0]).toMatchObject({ kind: "text", text: expect.stringContaining("Friday") })
  })

  it("refuses a second message in a context whose task still runs (the session lock), lists the running task, and goes on", async () => {
    const first = v1.sendMessageStream(message("Tell me a long story") as any)[Symbol.asyncIterator]()
    const task = ((await first.next()).value as any).payload.value
    const busy: any = await rpc({
      jsonrpc: "2.0",
      id: 9,
      method: "SendMessage",
      params: { message: { messageId: "b1", role: "ROLE_USER", parts: [{ text: "hi" }], contextId: task.contextId } }
    })
    expect(busy.status).toBe(409)
    expect((await busy.json()).error).toMatchObject({ code: -32000, message: expect.stringContaining("running run") })
    // the running task is listed, and read, as working
    const listed: any = await rpc({ jsonrpc: "2.0", id: 10, method: "ListTasks", params: { contextId: task.contextId } }).then((reply) => reply.json())
    expect(listed.result.tasks.map((item: any) => [item.id, item.status.state])).toEqual([[task.id, "TASK_STATE_WORKING"]])
    await v1.cancelTask({ id: task.id, tenant: "", metadata: undefined })
    while (!(await first.next()).done) { /* drain to the end */ }
    await waitFor("no active run", async () => (await activeRuns()) === 0)
  })

  const user = (parts: unknown) => ({ jsonrpc: "2.0", id: 1, method: "SendMessage", params: { message: { messageId: "m", role: "ROLE_USER", parts } } })
  const cases: Array<readonly [unknown, number, string, string?]> = [
    ["nope", -32700, "not JSON"],
    ["[]", -32600, "a batch"],
    ["42", -32600, "a number"],
    [{ id: 1, method: "SendMessage", params: {} }, -32600, "no jsonrpc"],
    [{ jsonrpc: "1.0", id: 1, method: "SendMessage" }, -32600, "another jsonrpc version"],
    [{ jsonrpc: "2.0", id: 1 }, -32600, "no method"],
    [{ jsonrpc: "2.0", method: "GetTask", params: { id: "x" } }, -32600, "a notification"],
    [{ jsonrpc: "2.0", id: { a: 1 }, method: "GetTask", params: { id: "x" } }, -32600, "an object id"],
    [{ jsonrpc: "2.0", id: 1, method: "tasks/delete" }, -32601, "an unknown method"],
    [{ jsonrpc: "2.0", id: 1, method: "toString" }, -32601, "a prototype's method"],
    [{ jsonrpc: "2.0", id: 1, method: "SendMessage" }, -32602, "no params"],
    [{ jsonrpc: "2.0", id: 1, method: "SendMessage", params: { message: "hi" } }, -32602, "a string message"],
    [user([]), -32602, "no parts"],
    [user([{ text: "a", data: {} }]), -32602, "a part with two kinds"],
    [user([{ raw: "not base64!" }]), -32602, "raw that is not base64"],
    [user([{ kind: "file", file: { uri: "https://example.com/a.png" } }]), -32602, "a 0.3 file part to a v1.0 method"],
    [{ jsonrpc: "2.0", id: 1, method: "SendMessage", params: { message: { messageId: "m", role: "ROLE_AGENT", parts: [{ text: "x" }] } } }, -32602, "the agent's role"],
    [{ jsonrpc: "2.0", id: 1, method: "message/send", params: { message: { messageId: "m", role: "user", parts: [{ kind: "image" }] } } }, -32602, "an unknown 0.3 part kind"],
    [{ jsonrpc: "2.0", id: 1, method: "GetTask", params: { id: "no-such-task" } }, -32001, "an unknown task"],
    [{ jsonrpc: "2.0", id: 1, method: "CancelTask", params: { id: "no-such-task" } }, -32001, "a cancel of an unknown task"],
    [{ jsonrpc: "2.0", id: 1, method: "GetTask", params: { id: 5 } }, -32602, "a number as task id"],
    [{ jsonrpc: "2.0", id: 1, method: "ListTasks", params: { pageSize: 1000 } }, -32602, "a page too large"],
    [{ jsonrpc: "2.0", id: 1, method: "ListTasks", params: { pageToken: "abc" } }, -32602, "a page token not ours"],
    [{ jsonrpc: "2.0", id: 1, method: "ListTasks", params: { status: "done" } }, -32602, "an unknown state"],
    [user([{ text: "x" }]), -32005, "a text content type", "text/plain"],
    [{ jsonrpc: "2.0", id: 1, method: "SendMessage", params: { message: { messageId: "m", role: "ROLE_USER", parts: [{ text: "x" }], taskId: "no-such-task" } } }, -32001, "a message to an unknown task"],
    [{ jsonrpc: "2.0", id: 1, method: "CreateTaskPushNotificationConfig", params: {} }, -32003, "push notifications"],
    [{ jsonrpc: "2.0", id: 1, method: "GetExtendedAgentCard", params: {} }, -32007, "the extended card"],
    [`{"jsonrpc": "2.0", "id": 1, "method": "SendMessage", "params": ${"[".repeat(100)}${"]".repeat(100)}}`, -32600, "nested too deep"]
  ]
  it(`refuses ${cases.length} malformed requests with a 4xx and a JSON-RPC error, and goes on serving`, async () => {
    for (const [body, code, what, contentType] of cases) {
      const reply = await rpc(body, contentType === undefined ? undefined : { headers: { "content-type": contentType } })
      const json: any = await reply.json()
      expect(reply.status, what).toBeGreaterThanOrEqual(400)
      expect(reply.status, what).toBeLessThan(500)
      expect(json.jsonrpc, what).toBe("2.0")
      expect(json.error.code, what).toBe(code)
      expect(typeof json.error.message, what).toBe("string")
    }
    // the SDK reads such an error as its own error class
    const error = await v1.getTask({ id: "no-such-task", tenant: "", historyLength: undefined }).catch((cause) => cause)
    expect(error.name).toBe("TaskNotFoundError")
    expect((await v1.sendMessage(message("Hello Friday") as any) as any).status.state).toBe(COMPLETED)
  })

  it("serves the card with both bindings and streaming, and the README's curl works", async () => {
    const card: any = await fetch(`${server.url}/.well-known/agent-card.json`).then((reply) => reply.json())
    expect(card).toMatchObject({ name: "Friday", capabilities: { streaming: true }, url: `${server.url}/a2a`, preferredTransport: "JSONRPC" })
    expect(card.supportedInterfaces.map((binding: any) => binding.protocolVersion)).toEqual(["1.0", "0.3"])
    expect(card.skills[0].id).toBe("word_stats")
    const curl = readmeShellBlocks().find((block) => block.includes("/a2a"))
    expect(curl, "the README has a curl command for /a2a").toBeDefined()
    const output = await runShell(curl!.replace("127.0.0.1:8090", `127.0.0.1:${new URL(server.url).port}`))
    const results = output.split("\n\n").filter((frame) => frame.startsWith("data: ")).map((frame) => JSON.parse(frame.slice(6)).result)
    expect(results[0].task.status.state).toBe("TASK_STATE_SUBMITTED")
    expect(results.at(-1).statusUpdate.status.state).toBe("TASK_STATE_COMPLETED")
    const text = results.flatMap((result) => result.artifactUpdate?.artifact.parts ?? []).map((part: any) => part.text).join("")
    expect(text).toContain("Hello, I am Friday!")
  })
})
