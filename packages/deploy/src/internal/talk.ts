/**
 * Talking to an agent from a terminal: one turn, its answer printed as it
 * arrives, reasoning and tool calls dimmed; an interrupt (Ctrl-C) stops the
 * run on the server and the turn ends canceled. Over the typed client when
 * the server lists an RPC route (`GET /`), else over `POST /process` (SSE) and
 * `POST /stop`, so that it works against any server of the protocol, the
 * original included.
 */
import type * as Core from "@agentapp/core"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { DeployError } from "./errors.ts"

const dim = (text: string) => (process.stdout.isTTY ? `\x1b[2m${text}\x1b[22m` : text)

/** What a turn ended with. */
export type Ending = "completed" | "failed" | "canceled"

const isEnding = (status: string): status is Ending => status === "completed" || status === "failed" || status === "canceled"

interface Event {
  readonly object: string
  readonly status: string
  readonly id?: string
  readonly type?: string
  readonly role?: string
  readonly msg_id?: string
  readonly delta?: boolean
  readonly text?: string
  readonly content?: ReadonlyArray<{ readonly type: string; readonly data?: Record<string, unknown> }>
  readonly error?: { readonly message?: string } | null
}

/** Prints one event: the answer's text, reasoning dimmed, tool calls and results dimmed on lines of their own. */
const printer = () => {
  const kinds = new Map<string, string>()
  let atLineStart = true
  const write = (text: string) => {
    if (text === "") return
    process.stdout.write(text)
    atLineStart = text.endsWith("\n")
  }
  const line = (text: string) => write(`${atLineStart ? "" : "\n"}${text}\n`)
  return (event: Event) => {
    if (event.object === "message" && event.status === "in_progress") kinds.set(event.id ?? "", event.type ?? "")
    if (event.object === "content" && event.delta === true && event.type === "text") {
      const kind = kinds.get(event.msg_id ?? "")
      if (kind === "message") write(event.text ?? "")
      else if (kind === "reasoning") write(dim(event.text ?? ""))
    }
    if (event.object === "message" && event.status === "completed") {
      const data = event.content?.find((part) => part.type === "data")?.data ?? {}
      if (event.type === "reasoning") line("")
      if (event.type === "function_call" || event.type === "plugin_call") line(dim(`→ ${String(data.name)}(${String(data.arguments ?? "")})`))
      if (event.type === "function_call_output" || event.type === "plugin_call_output") {
        line(dim(`← ${typeof data.output === "string" ? data.output : JSON.stringify(data.output)}`))
      }
    }
    if (event.object === "response" && event.status === "failed") line(`error: ${event.error?.message ?? "the agent failed"}`)
    if (event.object === "response" && event.status === "canceled") line(dim("(stopped)"))
    if (event.object === "response" && event.status === "completed") line("")
  }
}

/** Who talks: the user id (the server's default when absent: the session id, or the token's user) and a bearer token. */
export interface Caller {
  readonly userId?: string | undefined
  readonly token?: string | undefined
}

const headersOf = (caller: Caller, headers: Record<string, string>): Record<string, string> =>
  caller.token === undefined ? headers : { ...headers, authorization: `Bearer ${caller.token}` }

const named = (caller: Caller) => caller.userId === undefined ? {} : { user_id: caller.userId }

/** Sends a stop for the session; an error is ignored (the run may have ended). */
const stop = (url: string, sessionId: string, caller: Caller) =>
  fetch(`${url}/stop`, {
    method: "POST",
    headers: headersOf(caller, { "content-type": "application/json" }),
    body: JSON.stringify({ session_id: sessionId, ...named(caller) })
  }).then(() => undefined, () => undefined)

/** A turn over SSE. */
const sseTurn = (base: string, text: string, sessionId: string, caller: Caller): Effect.Effect<Ending, DeployError> =>
  Effect.tryPromise({
    try: async () => {
      const onInterrupt = () => void stop(base, sessionId, caller)
      process.on("SIGINT", onInterrupt)
      try {
        const reply = await fetch(`${base}/process`, {
          method: "POST",
          headers: headersOf(caller, { "content-type": "application/json", accept: "text/event-stream" }),
          body: JSON.stringify({ input: [{ role: "user", content: [{ type: "text", text }] }], session_id: sessionId, ...named(caller) })
        })
        if (reply.status !== 200 || reply.body === null) {
          throw new Error(`${base}/process answered ${reply.status}: ${(await reply.text()).slice(0, 300)}`)
        }
        const print = printer()
        let ending: Ending = "failed"
        let buffer = ""
        const decoder = new TextDecoder()
        for await (const chunk of reply.body as AsyncIterable<Uint8Array>) {
          buffer += decoder.decode(chunk, { stream: true })
          let end: number
          while ((end = buffer.indexOf("\n\n")) >= 0) {
            const block = buffer.slice(0, end)
            buffer = buffer.slice(end + 2)
            const data = block.split("\n").filter((row) => row.startsWith("data:")).map((row) => row.slice(5).trimStart()).join("\n")
            if (data === "") continue
            const event = JSON.parse(data) as Event
            print(event)
            if (event.object === "response" && isEnding(event.status)) ending = event.status
          }
        }
        return ending
      } finally {
        process.off("SIGINT", onInterrupt)
      }
    },
    catch: (cause) => new DeployError({ message: `Cannot talk to ${base}: ${(cause as Error).message}` })
  })

/** A turn over the typed client (`AgentClient`, loaded only then). */
const rpcTurn = (base: string, rpcPath: string, text: string, sessionId: string, caller: Caller): Effect.Effect<Ending, DeployError> =>
  Effect.gen(function*() {
    const { AgentClient } = yield* Effect.promise(() => import("@agentapp/core"))
    const request: Core.Protocol.AgentRequest = {
      input: [{ role: "user", content: [{ type: "text", text }] }],
      session_id: sessionId,
      ...named(caller)
    }
    return yield* Effect.gen(function*() {
      const agent = yield* AgentClient.AgentClient
      const print = printer()
      let ending: Ending = "failed"
      const onInterrupt = () => Effect.runFork(Effect.ignore(agent.stop(sessionId, caller.userId)))
      process.on("SIGINT", onInterrupt)
      yield* Stream.runForEach(agent.process(request), (event) =>
        Effect.sync(() => {
          print(event as Event)
          if (event.object === "response" && isEnding(event.status)) ending = event.status
        })).pipe(Effect.ensuring(Effect.sync(() => process.off("SIGINT", onInterrupt))))
      return ending
    }).pipe(
      Effect.provide(AgentClient.layer({ url: base, path: rpcPath, token: caller.token })),
      Effect.mapError((error) => new DeployError({ message: `Cannot talk to ${base}: ${error.message}` }))
    )
  })

/** The server's RPC route, if `GET /` lists one. */
const rpcPathOf = (base: string, caller: Caller) =>
  Effect.promise(() =>
    fetch(`${base}/`, { headers: headersOf(caller, {}), signal: AbortSignal.timeout(2_000) }).then(
      async (reply) => {
        const body = reply.ok ? await reply.json() as { readonly endpoints?: Record<string, string> } : undefined
        return typeof body?.endpoints?.rpc === "string" ? body.endpoints.rpc : undefined
      },
      () => undefined
    )
  )

/**
 * One turn: `text` to the agent at `url` in `sessionId`. A SIGINT while it
 * runs stops the run on the server; the turn then ends `canceled`.
 */
export const turn = (url: string, text: string, sessionId: string, caller: Caller): Effect.Effect<Ending, DeployError> => {
  const base = url.replace(/\/+$/, "")
  return Effect.flatMap(rpcPathOf(base, caller), (rpcPath) =>
    rpcPath === undefined ? sseTurn(base, text, sessionId, caller) : rpcTurn(base, rpcPath, text, sessionId, caller))
}
