/**
 * The typed RPC face of an app, an `effect/rpc` group served beside REST
 * (by default on `POST /rpc`, ndjson over HTTP). Effect services consume it
 * with `AgentClient` instead of parsing SSE by hand; errors cross the wire as
 * themselves.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import { Rpc, RpcGroup } from "effect/rpc"
import { SessionBusy } from "./Interrupt.ts"
import * as Protocol from "./Protocol.ts"

/**
 * The request does not match its schema; `issues` says where.
 *
 * @since 0.1.0
 */
export class InvalidRequest extends Schema.TaggedError<InvalidRequest>()("InvalidRequest", {
  message: Schema.String,
  issues: Schema.Array(Schema.Struct({ path: Schema.Array(Schema.String), message: Schema.String }))
}) {}

/**
 * Nothing runs in the session to stop, or the task id is unknown.
 *
 * @since 0.1.0
 */
export class NotFound extends Schema.TaggedError<NotFound>()("NotFound", {
  message: Schema.String
}) {}

/**
 * A backend the app needs (Redis) is unreachable, or the server is shutting
 * down: try again, perhaps elsewhere.
 *
 * @since 0.1.0
 */
export class Unavailable extends Schema.TaggedError<Unavailable>()("Unavailable", {
  message: Schema.String
}) {}

/**
 * A payload that names another user than the caller's credentials (HTTP 403).
 *
 * @since 0.1.0
 */
export class Forbidden extends Schema.TaggedError<Forbidden>()("Forbidden", {
  message: Schema.String
}) {}

/**
 * The caller's user has as many runs going as the app allows (HTTP 429);
 * `retry_after_ms` is a hint.
 *
 * @since 0.1.0
 */
export class RateLimited extends Schema.TaggedError<RateLimited>()("RateLimited", {
  message: Schema.String,
  retry_after_ms: Schema.Number
}) {}

/**
 * The errors of `Process` and `SubmitTask`.
 *
 * @since 0.1.0
 */
export const RunError = Schema.Union([SessionBusy, InvalidRequest, Unavailable, Forbidden, RateLimited])

/**
 * The errors of the procedures that read or stop a run or task.
 *
 * @since 0.1.0
 */
export const CallError = Schema.Union([NotFound, InvalidRequest, Unavailable, Forbidden])

/**
 * The status of a background task.
 *
 * @since 0.1.0
 */
export const TaskStatus = Schema.Struct({
  status: Schema.Literals(["pending", "running", "finished", "error"]),
  result: Schema.Unknown,
  error: Schema.optional(Schema.String),
  started_at: Schema.optional(Schema.Number),
  finished_at: Schema.optional(Schema.Number),
  attempts: Schema.Number
})

/**
 * What `SubmitTask` answers.
 *
 * @since 0.1.0
 */
export const Submitted = Schema.Struct({
  task_id: Schema.String,
  status: Schema.Literal("submitted"),
  queue: Schema.String,
  message: Schema.String,
  session_id: Schema.String,
  user_id: Schema.String
})

/**
 * What `Health` answers.
 *
 * @since 0.1.0
 */
export const HealthStatus = Schema.Struct({
  status: Schema.Literal("healthy"),
  name: Schema.String,
  version: Schema.String,
  phase: Schema.Literals(["starting", "ready", "draining"]),
  active_runs: Schema.Number
})

/**
 * The payload of `Stop`.
 *
 * @since 0.1.0
 */
export const StopPayload = Schema.Struct({
  session_id: Schema.String,
  user_id: Schema.optional(Schema.NullOr(Schema.String))
})

/**
 * The payload of `GetTask`.
 *
 * @since 0.1.0
 */
export const GetTaskPayload = Schema.Struct({ task_id: Schema.String })

/**
 * The payload of `Join`: a run's response id and the sequence number after
 * which to start (-1, the default, for all its events).
 *
 * @since 0.1.0
 */
export const JoinPayload = Schema.Struct({
  response_id: Schema.String,
  after: Schema.optional(Schema.Int.check(Schema.isGreaterThanOrEqualTo(-1)))
})

/**
 * The payload of `GetRun`.
 *
 * @since 0.1.0
 */
export const GetRunPayload = Schema.Struct({ response_id: Schema.String })

/**
 * The payload of `Process` and `SubmitTask`: `{ request }`, an `AgentRequest`.
 *
 * @since 0.1.0
 */
export const RunPayload = Schema.Struct({ request: Schema.Unknown })

/**
 * The procedures. Their payloads are validated by the server (see
 * `StopPayload`, `GetTaskPayload`, `JoinPayload`, `GetRunPayload`, `RunPayload`
 * and `Protocol.AgentRequest`),
 * so that a bad one comes back as the typed `InvalidRequest` with its
 * issues, never as a defect; `AgentClient` gives them their types.
 *
 * @since 0.1.0
 */
export class AgentRpcs extends RpcGroup.make(
  Rpc.make("Process", {
    payload: Schema.Unknown,
    success: Protocol.Event,
    error: RunError,
    stream: true
  }),
  Rpc.make("Stop", {
    payload: Schema.Unknown,
    success: Schema.Struct({ status: Schema.Literal("success"), message: Schema.String }),
    error: CallError
  }),
  Rpc.make("SubmitTask", {
    payload: Schema.Unknown,
    success: Submitted,
    error: RunError
  }),
  Rpc.make("GetTask", {
    payload: Schema.Unknown,
    success: TaskStatus,
    error: CallError
  }),
  Rpc.make("Join", {
    payload: Schema.Unknown,
    success: Protocol.Event,
    error: CallError,
    stream: true
  }),
  Rpc.make("GetRun", {
    payload: Schema.Unknown,
    success: Protocol.ResponseEvent,
    error: CallError
  }),
  Rpc.make("Health", {
    success: HealthStatus
  })
) {}
