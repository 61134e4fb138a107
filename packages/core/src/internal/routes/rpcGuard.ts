import { Effect, Layer } from "effect"
import { HttpRouter } from "effect/http"
import { RpcSerialization, RpcServer } from "effect/rpc"
import * as AgentRpc from "../../AgentRpc.ts"
import * as HttpError from "../http/httpError.ts"

/** The most messages one `/rpc` body may carry. */
export const maxBatch = 1_000

const tags: ReadonlySet<string> = new Set(AgentRpc.AgentRpcs.requests.keys())
// (no `Eof`: over HTTP the server ends the batch itself, and one sent by a client fails the reply)
const messageTags: ReadonlySet<string> = new Set(["Request", "Ack", "Interrupt", "Ping"])

/**
 * Why an ndjson body is not a batch of `AgentRpcs` messages the RPC server
 * can answer, or `undefined` when it is. Effect's server answers a
 * malformed body with an empty 200; and it writes the whole batch before it
 * reads any reply, so that a request it refuses at once (an unknown tag, a
 * bad id) waits for room in a reply queue of 16: a batch of 17 such requests
 * was never answered. Payloads are decoded by the handlers, on fibers of
 * their own, for the same reason.
 */
const malformed = (text: string): string | undefined => {
  const lines = text.split("\n")
  let count = 0
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim()
    if (line === "") continue
    if (++count > maxBatch) return `A batch holds at most ${maxBatch} messages`
    let message: unknown
    try {
      message = JSON.parse(line)
    } catch {
      return `Line ${i + 1} is not JSON`
    }
    if (typeof message !== "object" || message === null || Array.isArray(message)) {
      return `Line ${i + 1} is not an RPC message object`
    }
    const { _tag, id, tag } = message as { _tag?: unknown; id?: unknown; tag?: unknown }
    if (typeof _tag !== "string" || !messageTags.has(_tag)) return `Line ${i + 1} has no known _tag`
    if (_tag === "Request") {
      if (typeof id !== "string" && typeof id !== "number") return `Line ${i + 1}: a request needs a string or number id`
      if (typeof tag !== "string" || !tags.has(tag)) {
        return `Line ${i + 1}: unknown procedure ${HttpError.capText(String(tag), 64)}; known: ${[...tags].join(", ")}`
      }
    }
  }
  return count === 0 ? "The request body holds no RPC message" : undefined
}

/**
 * The `/rpc` route: `AgentRpcs` as ndjson over HTTP, behind a check that
 * answers a body the RPC server cannot (not JSON, too large, too deep, an
 * unknown procedure) with a JSON 4xx. Payloads are decoded by the handlers,
 * so that a bad one fails with the typed `InvalidRequest`.
 */
export const rpcGuard = (path: HttpRouter.PathInput, maxBodySize: number) =>
  Layer.unwrap(Effect.gen(function*() {
    const { httpEffect, protocol } = yield* RpcServer.makeProtocolWithHttpEffect()
    const read = HttpError.readText(maxBodySize, HttpError.isJsonOrNdjsonType)
    const route = HttpError.respondOnError(Effect.flatMap(read, (text) => {
      const problem = malformed(text)
      return problem === undefined ? httpEffect : Effect.fail(HttpError.invalidRequest(problem))
    }))
    return Layer.merge(
      RpcServer.layer(AgentRpc.AgentRpcs).pipe(Layer.provide(Layer.succeed(RpcServer.Protocol, protocol))),
      HttpRouter.add("POST", path, route)
    )
  })).pipe(Layer.provide(RpcSerialization.layerNdjson))
