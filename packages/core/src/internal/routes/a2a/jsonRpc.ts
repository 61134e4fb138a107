/**
 * A2A's JSON-RPC 2.0 envelope: the request read from the body, the methods
 * of both dialects, and errors in JSON-RPC's shape (v1.0 adds the A2A
 * reason as a `google.rpc.ErrorInfo`), each with an HTTP status that says
 * the same.
 */
import { Data, Effect } from "effect"
import { type HttpServerRequest, HttpServerResponse } from "effect/http"
import * as HttpError from "../../http/httpError.ts"
import type { Dialect } from "./wire.ts"

/** A JSON-RPC error with its HTTP status and, for A2A's own errors, its v1.0 reason. */
export class RpcError extends Data.TaggedError("RpcError")<{
  readonly code: number
  readonly message: string
  readonly status: number
  readonly reason?: string | undefined
}> {}

export const parseError = (message: string) => new RpcError({ code: -32700, message, status: 400 })
export const invalidRequest = (message: string, status = 400) => new RpcError({ code: -32600, message, status })
export const invalidParams = (message: string) => new RpcError({ code: -32602, message, status: 400, reason: "INVALID_PARAMS" })
export const taskNotFound = (id: string) =>
  new RpcError({ code: -32001, message: `No task ${HttpError.capText(id, 64)}`, status: 404, reason: "TASK_NOT_FOUND" })
export const notCancelable = (message: string) =>
  new RpcError({ code: -32002, message, status: 409, reason: "TASK_NOT_CANCELABLE" })
export const unsupported = (message: string) =>
  new RpcError({ code: -32004, message, status: 400, reason: "UNSUPPORTED_OPERATION" })

export const noPushNotifications = new RpcError({
  code: -32003,
  message: "Push notifications are not supported: stream the task, or subscribe to it",
  status: 400,
  reason: "PUSH_NOTIFICATION_NOT_SUPPORTED"
})
export const noExtendedCard = new RpcError({
  code: -32007,
  message: "This agent has no extended agent card",
  status: 400,
  reason: "EXTENDED_AGENT_CARD_NOT_CONFIGURED"
})

/** The methods, by their v1.0 names. */
export type Method =
  | "SendMessage"
  | "SendStreamingMessage"
  | "GetTask"
  | "ListTasks"
  | "CancelTask"
  | "SubscribeToTask"
  | "GetExtendedAgentCard"
  | "PushNotificationConfig"

const v1: Record<string, Method> = {
  SendMessage: "SendMessage",
  SendStreamingMessage: "SendStreamingMessage",
  GetTask: "GetTask",
  ListTasks: "ListTasks",
  CancelTask: "CancelTask",
  SubscribeToTask: "SubscribeToTask",
  GetExtendedAgentCard: "GetExtendedAgentCard",
  CreateTaskPushNotificationConfig: "PushNotificationConfig",
  GetTaskPushNotificationConfig: "PushNotificationConfig",
  ListTaskPushNotificationConfigs: "PushNotificationConfig",
  DeleteTaskPushNotificationConfig: "PushNotificationConfig"
}

const v03: Record<string, Method> = {
  "message/send": "SendMessage",
  "message/stream": "SendStreamingMessage",
  "tasks/get": "GetTask",
  "tasks/list": "ListTasks",
  "tasks/cancel": "CancelTask",
  "tasks/resubscribe": "SubscribeToTask",
  "agent/getAuthenticatedExtendedCard": "GetExtendedAgentCard",
  "tasks/pushNotificationConfig/set": "PushNotificationConfig",
  "tasks/pushNotificationConfig/get": "PushNotificationConfig",
  "tasks/pushNotificationConfig/list": "PushNotificationConfig",
  "tasks/pushNotificationConfig/delete": "PushNotificationConfig"
}

/** A request read from the body: its id, its method in v1.0's name, the dialect its name is from, and its params. */
export interface RpcRequest {
  readonly id: string | number
  readonly method: Method
  readonly dialect: Dialect
  readonly params: unknown
}

const idOf = (body: unknown): string | number | null => {
  const id = (body as { readonly id?: unknown } | null)?.id
  return typeof id === "string" || (typeof id === "number" && Number.isFinite(id)) ? id : null
}

/** The request in a body, or the error that says what is wrong with it (with the id, when it has one). */
export const readRequest = (body: unknown): Effect.Effect<RpcRequest, { readonly id: string | number | null; readonly error: RpcError }> => {
  const id = idOf(body)
  const refuse = (error: RpcError) => Effect.fail({ id, error })
  if (Array.isArray(body)) return refuse(invalidRequest("Batch requests are not supported: send one request per call"))
  if (typeof body !== "object" || body === null) return refuse(invalidRequest("The body must be a JSON-RPC request object"))
  const request = body as Record<string, unknown>
  if (request.jsonrpc !== "2.0") return refuse(invalidRequest(`"jsonrpc" must be "2.0"`))
  if (typeof request.method !== "string") return refuse(invalidRequest(`"method" must be a string`))
  if (id === null) return refuse(invalidRequest(`"id" must be a string or a number (notifications are not supported)`))
  const name = request.method
  const dialect: Dialect | undefined = Object.hasOwn(v1, name) ? "1.0" : Object.hasOwn(v03, name) ? "0.3" : undefined
  if (dialect === undefined) {
    return refuse(new RpcError({ code: -32601, message: `Method not found: ${HttpError.capText(name, 64)}`, status: 404 }))
  }
  const method = (dialect === "1.0" ? v1 : v03)[name]
  return Effect.succeed({ id, method, dialect, params: request.params })
}

/** A refusal of the run machinery (a bad body, a busy session, a backend away) as a JSON-RPC error. */
export const fromRefusal = (error: unknown): RpcError => {
  if (error instanceof RpcError) return error
  const { code, message, status } = HttpError.refusalOf(error)
  switch (code) {
    case "unsupported_media_type":
      return new RpcError({ code: -32005, message, status: 415, reason: "CONTENT_TYPE_NOT_SUPPORTED" })
    case "session_busy":
      return new RpcError({ code: -32000, message: `${message}: send again when its task ends, or cancel it`, status })
    case "not_found":
      return new RpcError({ code: -32001, message, status, reason: "TASK_NOT_FOUND" })
    default:
      return status < 500 ? invalidRequest(message, status) : new RpcError({ code: -32603, message, status })
  }
}

/** The JSON-RPC error object of `error` in `dialect`. */
export const errorObject = (error: RpcError, dialect: Dialect) => ({
  code: error.code,
  message: HttpError.capText(error.message, HttpError.maxMessageLength),
  ...(dialect === "1.0" && error.reason !== undefined
    ? { data: [{ "@type": "type.googleapis.com/google.rpc.ErrorInfo", reason: error.reason, domain: "a2a-protocol.org" }] }
    : {})
})

/** The reply to a refused request. */
export const errorReply = (id: string | number | null, error: RpcError, dialect: Dialect): HttpServerResponse.HttpServerResponse =>
  HttpServerResponse.jsonUnsafe({ jsonrpc: "2.0", id, error: errorObject(error, dialect) }, { status: error.status })

/** A JSON-RPC result. */
export const resultReply = (id: string | number, result: unknown): HttpServerResponse.HttpServerResponse =>
  HttpServerResponse.jsonUnsafe({ jsonrpc: "2.0", id, result })

/** The body read as JSON: a parse error is JSON-RPC's own (-32700), the other refusals as {@link fromRefusal} says. */
export const readBody = (maxBytes: number): Effect.Effect<unknown, RpcError, HttpServerRequest.HttpServerRequest> =>
  HttpError.readText(maxBytes, HttpError.isJsonType).pipe(
    Effect.mapError(fromRefusal),
    Effect.flatMap((text) =>
      Effect.try({ try: () => JSON.parse(text) as unknown, catch: () => parseError("The body is not valid JSON") })
    )
  )
