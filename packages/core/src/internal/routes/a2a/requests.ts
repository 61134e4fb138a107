/**
 * The params of A2A's JSON-RPC methods, read in either dialect into v1.0's
 * shapes; a bad param is a message naming it (an invalid-params error).
 */
import type * as A2a from "../../../A2a.ts"
import type { Dialect } from "./wire.ts"

/** A reason the params are refused, naming the field. */
export class InvalidParams {
  readonly message: string
  constructor(message: string) {
    this.message = message
  }
}

const fail = (message: string): never => {
  throw new InvalidParams(message)
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value)

const record = (value: unknown, path: string): Record<string, unknown> =>
  isRecord(value) ? value : fail(`${path} must be an object`)

const optionalString = (value: unknown, path: string): string | undefined =>
  value === undefined || value === null ? undefined : typeof value === "string" ? value : fail(`${path} must be a string`)

const nonEmptyString = (value: unknown, path: string): string => {
  const text = optionalString(value, path)
  return text === undefined || text === "" ? fail(`${path} is required`) : text
}

const optionalCount = (value: unknown, path: string, max: number): number | undefined =>
  value === undefined || value === null
    ? undefined
    : Number.isInteger(value) && (value as number) >= 0 && (value as number) <= max
    ? value as number
    : fail(`${path} must be an integer from 0 to ${max}`)

const base64 = /^[A-Za-z0-9+/_-]*={0,2}$/

const metadataOf = (value: unknown, path: string) =>
  value === undefined || value === null ? {} : { metadata: record(value, path) }

/** A v1.0 part: exactly one of `text`, `raw`, `url` and `data`. */
const part = (value: unknown, path: string): A2a.Part => {
  const input = record(value, path)
  const kinds = ["text", "raw", "url", "data"].filter((key) => input[key] !== undefined)
  if (kinds.length !== 1) fail(`${path} must have exactly one of text, raw, url and data`)
  const common = {
    ...(input.mediaType === undefined ? {} : { mediaType: nonEmptyString(input.mediaType, `${path}.mediaType`) }),
    ...(input.filename === undefined ? {} : { filename: nonEmptyString(input.filename, `${path}.filename`) }),
    ...metadataOf(input.metadata, `${path}.metadata`)
  }
  switch (kinds[0]) {
    case "text":
      return { text: typeof input.text === "string" ? input.text : fail(`${path}.text must be a string`), ...common }
    case "raw": {
      const raw = nonEmptyString(input.raw, `${path}.raw`)
      return base64.test(raw) ? { raw, ...common } : fail(`${path}.raw must be base64`)
    }
    case "url":
      return { url: nonEmptyString(input.url, `${path}.url`), ...common }
    default:
      return { data: input.data, ...common }
  }
}

/** A 0.3 part: `kind` text, file (bytes or uri) or data. */
const legacyPart = (value: unknown, path: string): A2a.Part => {
  const input = record(value, path)
  const metadata = metadataOf(input.metadata, `${path}.metadata`)
  switch (input.kind) {
    case "text":
      return { text: typeof input.text === "string" ? input.text : fail(`${path}.text must be a string`), ...metadata }
    case "data":
      return { data: record(input.data, `${path}.data`), ...metadata }
    case "file": {
      const file = record(input.file, `${path}.file`)
      const common = {
        ...(file.mimeType == null ? {} : { mediaType: nonEmptyString(file.mimeType, `${path}.file.mimeType`) }),
        ...(file.name == null ? {} : { filename: nonEmptyString(file.name, `${path}.file.name`) }),
        ...metadata
      }
      if (file.bytes !== undefined) {
        const raw = nonEmptyString(file.bytes, `${path}.file.bytes`)
        return base64.test(raw) ? { raw, ...common } : fail(`${path}.file.bytes must be base64`)
      }
      return { url: nonEmptyString(file.uri, `${path}.file.uri`), ...common }
    }
    default:
      return fail(`${path}.kind must be text, file or data`)
  }
}

const maxParts = 256

/** The message of a send, as v1.0 spells it. */
const message = (value: unknown, dialect: Dialect): A2a.Message => {
  const input = record(value, "params.message")
  const user = dialect === "1.0" ? "ROLE_USER" : "user"
  if (input.role !== user) fail(`params.message.role must be ${JSON.stringify(user)} (the client's side of the task)`)
  if (!Array.isArray(input.parts) || input.parts.length === 0) fail("params.message.parts must be a non-empty array")
  const parts = input.parts as Array<unknown>
  if (parts.length > maxParts) fail(`params.message.parts holds more than ${maxParts} parts`)
  const read = dialect === "1.0" ? part : legacyPart
  const contextId = optionalString(input.contextId, "params.message.contextId")
  const taskId = optionalString(input.taskId, "params.message.taskId")
  return {
    messageId: nonEmptyString(input.messageId, "params.message.messageId"),
    role: "ROLE_USER",
    parts: parts.map((item, i) => read(item, `params.message.parts[${i}]`)),
    ...(contextId === undefined || contextId === "" ? {} : { contextId }),
    ...(taskId === undefined || taskId === "" ? {} : { taskId }),
    ...metadataOf(input.metadata, "params.message.metadata")
  }
}

/** `SendMessage` / `message/send` (and the streaming forms). */
export interface SendParams {
  readonly message: A2a.Message
  /** v1.0 `configuration.returnImmediately`, 0.3 `configuration.blocking: false`. */
  readonly returnImmediately: boolean
}

export const sendParams = (value: unknown, dialect: Dialect): SendParams => {
  const params = record(value, "params")
  const configuration = params.configuration == null ? {} : record(params.configuration, "params.configuration")
  const flag = (key: string) => {
    const given = configuration[key]
    return given === undefined || given === null
      ? undefined
      : typeof given === "boolean"
      ? given
      : fail(`params.configuration.${key} must be a boolean`)
  }
  const returnImmediately = dialect === "1.0" ? flag("returnImmediately") === true : flag("blocking") === false
  return { message: message(params.message, dialect), returnImmediately }
}

/** `GetTask`, `CancelTask`, `SubscribeToTask` (and their 0.3 names): a task id, and how much history. */
export const taskParams = (value: unknown): { readonly id: string; readonly historyLength: number | undefined } => {
  const params = record(value, "params")
  return {
    id: nonEmptyString(params.id, "params.id"),
    historyLength: optionalCount(params.historyLength, "params.historyLength", 1_000)
  }
}

const states: ReadonlyArray<A2a.TaskState> = [
  "TASK_STATE_SUBMITTED",
  "TASK_STATE_WORKING",
  "TASK_STATE_COMPLETED",
  "TASK_STATE_FAILED",
  "TASK_STATE_CANCELED",
  "TASK_STATE_INPUT_REQUIRED",
  "TASK_STATE_REJECTED",
  "TASK_STATE_AUTH_REQUIRED"
]

/** `ListTasks`: filters and a page. */
export interface ListParams {
  readonly contextId: string | undefined
  readonly status: A2a.TaskState | undefined
  readonly pageSize: number
  readonly offset: number
  readonly historyLength: number | undefined
  readonly includeArtifacts: boolean
}

export const listParams = (value: unknown): ListParams => {
  const params = value === undefined || value === null ? {} : record(value, "params")
  const status = optionalString(params.status, "params.status")
  if (status !== undefined && status !== "TASK_STATE_UNSPECIFIED" && !states.includes(status as A2a.TaskState)) {
    fail(`params.status must be one of ${states.join(", ")}`)
  }
  const token = optionalString(params.pageToken, "params.pageToken") ?? ""
  if (token !== "" && !/^\d{1,9}$/.test(token)) fail("params.pageToken is not a token this server gave")
  const contextId = optionalString(params.contextId, "params.contextId")
  const include = params.includeArtifacts
  if (include !== undefined && include !== null && typeof include !== "boolean") {
    fail("params.includeArtifacts must be a boolean")
  }
  return {
    contextId: contextId === "" ? undefined : contextId,
    status: status === undefined || status === "TASK_STATE_UNSPECIFIED" ? undefined : status as A2a.TaskState,
    pageSize: optionalCount(params.pageSize, "params.pageSize", 100) || 50,
    offset: token === "" ? 0 : Number(token),
    historyLength: optionalCount(params.historyLength, "params.historyLength", 1_000),
    includeArtifacts: include === true
  }
}
