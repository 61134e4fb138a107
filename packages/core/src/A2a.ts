/**
 * A2A (Agent2Agent, spec v1.0, and the 0.3 JSON-RPC method names): the
 * options of the `a2a` front door of `AgentApp.make`, the shapes of its
 * tasks, the store that keeps them (memory here; `@agentapp/redis` shares
 * them between nodes) and the registries an agent card is published to.
 *
 * A task is one run: its `contextId` is the session, a cancel is a stop.
 *
 * @since 0.1.0
 */
import { Context, Duration, Effect, Layer, Option, Schema } from "effect"
import type { HttpRouter } from "effect/http"
import { HttpServerRespondable } from "effect/http"
import { unavailable } from "./internal/http/httpError.ts"
import { evictOldest } from "./internal/util/bounded.ts"

/**
 * A task's state, as A2A v1.0 spells it on the wire.
 *
 * @since 0.1.0
 */
export type TaskState =
  | "TASK_STATE_SUBMITTED"
  | "TASK_STATE_WORKING"
  | "TASK_STATE_COMPLETED"
  | "TASK_STATE_FAILED"
  | "TASK_STATE_CANCELED"
  | "TASK_STATE_INPUT_REQUIRED"
  | "TASK_STATE_REJECTED"
  | "TASK_STATE_AUTH_REQUIRED"

/**
 * The states after which a task does not change.
 *
 * @since 0.1.0
 */
export const isTerminal = (state: TaskState): boolean =>
  state === "TASK_STATE_COMPLETED" || state === "TASK_STATE_FAILED" || state === "TASK_STATE_CANCELED" ||
  state === "TASK_STATE_REJECTED"

/**
 * A part of a message or artifact (v1.0 JSON: one of `text`, `raw` (base64),
 * `url`, `data`).
 *
 * @since 0.1.0
 */
export interface Part {
  readonly text?: string
  readonly raw?: string
  readonly url?: string
  readonly data?: unknown
  readonly mediaType?: string
  readonly filename?: string
  readonly metadata?: Record<string, unknown>
}

/**
 * @since 0.1.0
 */
export interface Message {
  readonly messageId: string
  readonly role: "ROLE_USER" | "ROLE_AGENT"
  readonly parts: ReadonlyArray<Part>
  readonly contextId?: string
  readonly taskId?: string
  readonly metadata?: Record<string, unknown>
}

/**
 * @since 0.1.0
 */
export interface Artifact {
  readonly artifactId: string
  readonly name?: string
  readonly parts: ReadonlyArray<Part>
  readonly metadata?: Record<string, unknown>
}

/**
 * @since 0.1.0
 */
export interface TaskStatus {
  readonly state: TaskState
  readonly message?: Message
  /** ISO 8601. */
  readonly timestamp: string
}

/**
 * A task as A2A v1.0 sends it.
 *
 * @since 0.1.0
 */
export interface Task {
  readonly id: string
  readonly contextId: string
  readonly status: TaskStatus
  readonly artifacts?: ReadonlyArray<Artifact>
  readonly history?: ReadonlyArray<Message>
  readonly metadata?: Record<string, unknown>
}

/**
 * A task as the store keeps it: with its owner and when it last changed (unix ms).
 *
 * @since 0.1.0
 */
export interface TaskRecord {
  readonly task: Task
  readonly userId: string
  readonly updatedAt: number
}

/**
 * The task store could not do what was asked (Redis is away, say): a
 * JSON-RPC error to the client, 503 over HTTP.
 *
 * @since 0.1.0
 */
export class TaskStoreError extends Schema.TaggedError<TaskStoreError>()("TaskStoreError", {
  message: Schema.String,
  cause: Schema.optional(Schema.Defect())
}) {
  [HttpServerRespondable.symbol]() {
    return unavailable(this)
  }
}

/**
 * Where tasks are kept, so that `GetTask`, `ListTasks` and `CancelTask` work
 * on any node. Records expire after the store's retention.
 *
 * @since 0.1.0
 */
export class TaskStore extends Context.Service<TaskStore, {
  readonly save: (record: TaskRecord) => Effect.Effect<void, TaskStoreError>
  readonly get: (taskId: string) => Effect.Effect<Option.Option<TaskRecord>, TaskStoreError>
  /** Records newest first (by `updatedAt`), of one context or of all, from `offset`, at most `count`. */
  readonly page: (
    contextId: string | undefined,
    offset: number,
    count: number
  ) => Effect.Effect<ReadonlyArray<TaskRecord>, TaskStoreError>
  readonly check: Effect.Effect<void, TaskStoreError>
  /**
   * Whether only this node reads the store (memory): a running task is then
   * read from the node itself, and saved once, when it ends. A shared store
   * (Redis) also gets a task as it starts, so that other nodes find it.
   */
  readonly local: boolean
}>()("@agentapp/core/A2a/TaskStore") {}

/**
 * Limits of the memory store.
 *
 * @since 0.1.0
 */
export interface MemoryOptions {
  /** Tasks kept; the least recently updated go first. Default 10,000. */
  readonly maxTasks?: number | undefined
  /** A task is forgotten this long after its last change. Default 1 hour. */
  readonly retention?: Duration.Input | undefined
}

/**
 * The embedded store: one node's tasks, in memory.
 *
 * @since 0.1.0
 */
export const makeMemory = (options?: MemoryOptions): TaskStore["Service"] => {
  const maxTasks = options?.maxTasks ?? 10_000
  const retention = Duration.toMillis(Duration.fromInputUnsafe(options?.retention ?? Duration.hours(1)))
  const records = new Map<string, TaskRecord>()
  const live = (record: TaskRecord | undefined) => record !== undefined && record.updatedAt + retention > Date.now()
  return TaskStore.of({
    save: (record) =>
      Effect.sync(() => {
        records.delete(record.task.id)
        records.set(record.task.id, record)
        evictOldest(records, maxTasks)
      }),
    get: (taskId) =>
      Effect.sync(() => {
        const record = records.get(taskId)
        return live(record) ? Option.some(record!) : Option.none()
      }),
    page: (contextId, offset, count) =>
      Effect.sync(() => {
        const matching: Array<TaskRecord> = []
        for (const record of records.values()) {
          if (live(record) && (contextId === undefined || record.task.contextId === contextId)) matching.push(record)
        }
        return matching.reverse().slice(offset, offset + count)
      }),
    check: Effect.void,
    local: true
  })
}

/**
 * The memory store as a layer.
 *
 * @since 0.1.0
 */
export const layerMemory = (options?: MemoryOptions): Layer.Layer<TaskStore> =>
  Layer.sync(TaskStore, () => makeMemory(options))

/**
 * A skill on the agent card.
 *
 * @since 0.1.0
 */
export interface Skill {
  readonly id: string
  readonly name: string
  readonly description: string
  readonly tags: ReadonlyArray<string>
  readonly examples?: ReadonlyArray<string> | undefined
  readonly inputModes?: ReadonlyArray<string> | undefined
  readonly outputModes?: ReadonlyArray<string> | undefined
}

/**
 * The agent card served at `/.well-known/agent-card.json` (v1.0 fields, with
 * the 0.3 fields `url`, `protocolVersion` and `preferredTransport` beside
 * them so that 0.3 clients read it too).
 *
 * @since 0.1.0
 */
export type AgentCard = Record<string, unknown> & {
  readonly name: string
  readonly description: string
  readonly version: string
  readonly url: string
}

/**
 * A registry the agent card is published to when the app starts and
 * withdrawn from when it stops (a service catalogue, Nacos, an A2A
 * registry). A failing registry is logged and does not stop the app.
 *
 * @since 0.1.0
 */
export interface Registry {
  readonly name: string
  readonly register: (card: AgentCard) => Effect.Effect<void, unknown>
  readonly deregister: (card: AgentCard) => Effect.Effect<void, unknown>
}

/**
 * The `a2a` option of `AgentApp.make`: the card's fields (each defaulting to
 * the app's) and the runtime's.
 *
 * @since 0.1.0
 */
export interface Options {
  /** Path of the JSON-RPC binding. Default `/a2a`. */
  readonly path?: HttpRouter.PathInput | undefined
  /** The public base URL (`https://agents.example.com`); default the request's own origin. */
  readonly url?: string | undefined
  readonly name?: string | undefined
  readonly description?: string | undefined
  readonly version?: string | undefined
  /** Default one `chat` skill named after the app. */
  readonly skills?: ReadonlyArray<Skill> | undefined
  /** Default `text/plain` and `application/json`. */
  readonly defaultInputModes?: ReadonlyArray<string> | undefined
  readonly defaultOutputModes?: ReadonlyArray<string> | undefined
  readonly provider?: { readonly organization: string; readonly url: string } | undefined
  readonly documentationUrl?: string | undefined
  readonly iconUrl?: string | undefined
  /** Published as given (v1.0 shapes), for clients to know which credentials to send. */
  readonly securitySchemes?: Record<string, unknown> | undefined
  readonly securityRequirements?: ReadonlyArray<unknown> | undefined
  /** A task still working after this long fails (`TASK_STATE_FAILED`, "timed out"). Default 10 minutes. */
  readonly taskTimeout?: Duration.Input | undefined
  /** Where the card is published at start. Default none. */
  readonly registries?: ReadonlyArray<Registry> | undefined
}
