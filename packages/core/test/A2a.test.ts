/**
 * A2A behaviours Friday does not show: the task timeout, a task that asks
 * for input and is continued by its id, files and data reaching the handler
 * as content parts, a task that runs on after its request (0.3 `blocking:
 * false`), paging through ListTasks, and the registries the card is
 * published to for the app's life.
 */
import { A2a, AgentApp, Protocol } from "@agentapp/core"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { Effect, Exit, Layer, Scope, Stream } from "effect"
import { HttpServer } from "effect/http"
import { createServer } from "node:http"
import { describe, expect, it } from "vitest"
import { waitFor } from "../../../test/support/server.ts"

const textOf = (message: Protocol.Message) =>
  (message.content ?? []).flatMap((part) => part.type === "text" ? [part.text] : []).join("")

/** An app whose handler echoes its input's parts, waits forever on "hang", and asks for approval on "delete". */
const serveApp = async (a2a: A2a.Options) => {
  const app = AgentApp.make({ name: "Echo", description: "Echoes", a2a })
  const Query = app.query((request: Protocol.AgentRequest, context) => {
    const said = textOf(request.input[0])
    if (said === "hang") return Stream.never
    if (said === "delete") {
      return Stream.make(
        AgentApp.message({ type: "mcp_approval_request", content: [{ type: "text", text: "Delete everything? yes or no" }] })
      )
    }
    if (said === "yes") return Stream.make(AgentApp.text(`deleted (history ${context.history.length})`))
    if (said === "weather") {
      return Stream.make(AgentApp.message({ content: [{ type: "text", text: "Which city?" }], metadata: { input_required: true } }))
    }
    // answers once the test has read the task as running
    if (said === "later") return Stream.fromEffect(Effect.as(Effect.sleep("300 millis"), AgentApp.text("done")))
    return Stream.make(AgentApp.text(JSON.stringify(request.input[0].content)))
  })
  const scope = Scope.makeUnsafe()
  const layer = app.serve(Query).pipe(
    Layer.provideMerge(NodeHttpServer.layer(createServer, { port: 0, host: "127.0.0.1" })),
    Layer.provide(AgentApp.layerMemory)
  )
  const context = await Effect.runPromise(Layer.buildWithScope(layer, scope))
  const url = await Effect.runPromise(HttpServer.addressFormattedWith((url) => Effect.succeed(url)).pipe(Effect.provide(context)))
  const rpc = (method: string, params: unknown): Promise<any> =>
    fetch(`${url}/a2a`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params })
    }).then((reply) => reply.json())
  return { url, rpc, close: () => Effect.runPromise(Scope.close(scope, Exit.void)) }
}

const send = (parts: Array<unknown>, extra: object = {}) => ({
  message: { messageId: crypto.randomUUID(), role: "ROLE_USER", parts, ...extra }
})

describe("A2A", () => {
  it("fails a task that outlives the task timeout, and frees its context", async () => {
    const server = await serveApp({ taskTimeout: "150 millis" })
    try {
      const reply = await server.rpc("SendMessage", send([{ text: "hang" }]))
      expect(reply.result.task.status.state).toBe("TASK_STATE_FAILED")
      expect(reply.result.task.status.message.parts[0].text).toMatch(/timed out after 150/)
      const again = await server.rpc("SendMessage", send([{ text: "hi" }], { contextId: reply.result.task.contextId }))
      expect(again.result.task.status.state).toBe("TASK_STATE_COMPLETED")
    } finally {
      await server.close()
    }
  })

  it("a task that asks for approval is input-required, and the answer sent with its id completes it", async () => {
    const server = await serveApp({})
    try {
      const asked = (await server.rpc("SendMessage", send([{ text: "delete" }]))).result.task
      expect(asked.status.state).toBe("TASK_STATE_INPUT_REQUIRED")
      expect(asked.status.message.parts[0].text).toBe("Delete everything? yes or no")
      const done = (await server.rpc("SendMessage", send([{ text: "yes" }], { taskId: asked.id }))).result.task
      expect(done).toMatchObject({ id: asked.id, contextId: asked.contextId, status: { state: "TASK_STATE_COMPLETED" } })
      // the second turn ran in the task's session, whose history holds the first
      expect(done.artifacts[0].parts[0].text).toBe("deleted (history 2)")
      const refused = await server.rpc("SendMessage", send([{ text: "yes" }], { taskId: asked.id }))
      expect(refused.error).toMatchObject({ code: -32004, message: expect.stringContaining("terminal") })
      // a message whose metadata says input_required asks too
      const question = (await server.rpc("SendMessage", send([{ text: "weather" }]))).result.task
      expect(question.status).toMatchObject({ state: "TASK_STATE_INPUT_REQUIRED", message: { parts: [{ text: "Which city?" }] } })
    } finally {
      await server.close()
    }
  })

  it("files and data reach the handler as content parts", async () => {
    const server = await serveApp({})
    try {
      const png = Buffer.from("png bytes").toString("base64")
      const v1 = await server.rpc("SendMessage", send([
        { text: "look" },
        { raw: png, mediaType: "image/png", filename: "a.png" },
        { url: "https://example.com/report.pdf", mediaType: "application/pdf", filename: "report.pdf" },
        { data: { city: "Paris" } }
      ]))
      expect(JSON.parse(v1.result.task.artifacts[0].parts[0].text)).toEqual([
        { type: "text", text: "look" },
        { type: "image", image_url: `data:image/png;base64,${png}` },
        { type: "file", file_url: "https://example.com/report.pdf", filename: "report.pdf" },
        { type: "data", data: { city: "Paris" } }
      ])
      const v03 = await server.rpc("message/send", {
        message: {
          kind: "message",
          messageId: "x",
          role: "user",
          parts: [{ kind: "file", file: { bytes: png, mimeType: "audio/wav" } }, { kind: "data", data: { n: 1 } }]
        }
      })
      expect(JSON.parse(v03.result.artifacts[0].parts[0].text)).toEqual([
        { type: "audio", data: png, format: "wav" },
        { type: "data", data: { n: 1 } }
      ])
    } finally {
      await server.close()
    }
  })

  it("0.3 blocking: false answers at once, the task still working; it runs on and GetTask reads its end", async () => {
    const server = await serveApp({})
    try {
      const started = await server.rpc("message/send", {
        message: { kind: "message", messageId: "y", role: "user", parts: [{ kind: "text", text: "later" }] },
        configuration: { blocking: false }
      })
      expect(started.result.kind).toBe("task")
      expect(["submitted", "working"]).toContain(started.result.status.state)
      let task: any
      await waitFor("the task to complete", async () => {
        task = (await server.rpc("tasks/get", { id: started.result.id })).result
        return task.status.state === "completed"
      })
      expect(task.artifacts[0].parts[0].text).toBe("done")
    } finally {
      await server.close()
    }
  })

  it("ListTasks pages through a context's tasks, newest first, each once", async () => {
    const server = await serveApp({})
    try {
      const first = (await server.rpc("SendMessage", send([{ text: "1" }]))).result.task
      const ids = [first.id]
      for (const text of ["2", "3", "4", "5"]) {
        ids.push((await server.rpc("SendMessage", send([{ text }], { contextId: first.contextId }))).result.task.id)
      }
      const seen: Array<string> = []
      let pageToken = ""
      do {
        const page = (await server.rpc("ListTasks", { contextId: first.contextId, pageSize: 2, pageToken })).result
        expect(page.tasks.length).toBeLessThanOrEqual(2)
        seen.push(...page.tasks.map((task: any) => task.id))
        pageToken = page.nextPageToken
      } while (pageToken !== "")
      expect(seen).toEqual(ids.reverse())
    } finally {
      await server.close()
    }
  })

  it("publishes the card to each registry while the app runs, and survives a failing one", async () => {
    const calls: Array<string> = []
    const registry = (name: string, fails = false): A2a.Registry => ({
      name,
      register: (card) => fails ? Effect.fail("down") : Effect.sync(() => calls.push(`register ${name} ${card.url}`)),
      deregister: (card) => Effect.sync(() => calls.push(`deregister ${name} ${card.name}`))
    })
    const server = await serveApp({ registries: [registry("one"), registry("broken", true)] })
    expect(calls).toEqual([`register one ${server.url}/a2a`])
    const card: any = await fetch(`${server.url}/.well-known/agent-card.json`).then((reply) => reply.json())
    expect(card.name).toBe("Echo")
    await server.close()
    expect(calls).toEqual([`register one ${server.url}/a2a`, "deregister broken Echo", "deregister one Echo"])
  })
})

describe("A2A frames", () => {
  it("the template of the answer's text chunks writes the bytes JSON.stringify would", async () => {
    const { framer } = await import("../src/internal/routes/a2a/routes.ts")
    for (const id of [1, "req-\"7\""]) {
      const frame = framer({ id, method: "SendStreamingMessage", dialect: "1.0", params: undefined })
      for (const [text, append, lastChunk] of [["Hello", false, false], [" \"quoted\" \u2028 ünï", true, false], ["", true, true]] as const) {
        const response = {
          artifactUpdate: {
            taskId: "t-1",
            contextId: "c\"1",
            artifact: { artifactId: "msg_1", name: "response", parts: [{ text }] },
            append,
            lastChunk
          }
        }
        expect(frame(response)).toBe(`data: ${JSON.stringify({ jsonrpc: "2.0", id, result: response })}\n\n`)
      }
    }
  })
})
