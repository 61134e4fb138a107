/**
 * One run as an A2A task: each protocol event in, the stream responses it
 * makes out, and the task so far. The assistant's answer is an artifact,
 * streamed as it grows; reasoning and tool calls are status messages of the
 * working task; the response's end is the task's final state.
 */
import type * as A2a from "../../../A2a.ts"
import type * as Protocol from "../../../Protocol.ts"
import { type StreamResponse, toPart } from "./wire.ts"

let lastMs = 0
let lastIso = ""
/** Now in ISO 8601, formatted once per millisecond (a run's status updates often share one). */
const isoNow = (): string => {
  const now = Date.now()
  if (now !== lastMs) {
    lastMs = now
    lastIso = new Date(now).toISOString()
  }
  return lastIso
}

const isAnswer = (message: { readonly type: string; readonly role?: string | null | undefined }) =>
  message.type === "message" && message.role === "assistant"

/** A run asks for input by ending with an approval request, or a message whose metadata says `input_required`. */
const asksForInput = (output: ReadonlyArray<Protocol.MessageEvent>): boolean => {
  const last = output.at(-1)
  return last !== undefined && (last.type === "mcp_approval_request" || last.metadata?.input_required === true)
}

const agentMessage = (id: string, parts: ReadonlyArray<A2a.Part>, taskId: string, contextId: string, metadata?: Record<string, unknown>): A2a.Message => ({
  messageId: id,
  role: "ROLE_AGENT",
  parts,
  taskId,
  contextId,
  ...(metadata === undefined ? {} : { metadata })
})

const finalState = (response: Protocol.ResponseEvent): A2a.TaskState => {
  switch (response.status) {
    case "completed":
      return asksForInput(response.output) ? "TASK_STATE_INPUT_REQUIRED" : "TASK_STATE_COMPLETED"
    case "canceled":
      return "TASK_STATE_CANCELED"
    case "rejected":
      return "TASK_STATE_REJECTED"
    default:
      return "TASK_STATE_FAILED"
  }
}

/** The fold of one task's run. */
export interface TaskEvents {
  readonly onEvent: (event: Protocol.Event) => ReadonlyArray<StreamResponse>
  readonly task: () => A2a.Task
  /** Whether the run's final response has come. */
  readonly ended: () => boolean
  /** The run is stopped for running too long: it ends failed, with `message`. */
  readonly timedOut: (message: string) => void
  /** Marks the task canceled (its run was cut off before its end). */
  readonly cancel: () => void
}

/** An answer being written: its finished parts, and the text part still growing (at `openIndex`). */
interface Artifact {
  readonly parts: Array<A2a.Part>
  readonly streamed: Set<number>
  open: string
  openIndex: number
}

const newArtifact = (parts: Array<A2a.Part> = []): Artifact => ({ parts, streamed: new Set(), open: "", openIndex: -1 })

const partsOf = (artifact: Artifact): Array<A2a.Part> =>
  artifact.openIndex < 0 ? artifact.parts.slice() : [...artifact.parts, { text: artifact.open }]

export const makeTaskEvents = (taskId: string, contextId: string, input: A2a.Message): TaskEvents => {
  let status: A2a.TaskStatus = { state: "TASK_STATE_SUBMITTED", timestamp: isoNow() }
  const artifacts = new Map<string, Artifact>()
  const history: Array<A2a.Message> = [{ ...input, taskId, contextId }]
  let ended = false
  let timeout: string | undefined

  const task = (): A2a.Task => ({
    id: taskId,
    contextId,
    status,
    artifacts: [...artifacts].filter(([, artifact]) => artifact.parts.length > 0 || artifact.openIndex >= 0).map(([artifactId, artifact]) => ({
      artifactId,
      name: "response",
      parts: partsOf(artifact)
    })),
    history: history.slice()
  })
  const setStatus = (state: A2a.TaskState, message?: A2a.Message): StreamResponse => {
    status = { state, timestamp: isoNow(), ...(message === undefined ? {} : { message }) }
    return { statusUpdate: { taskId, contextId, status } }
  }
  const chunk = (artifactId: string, parts: ReadonlyArray<A2a.Part>, append: boolean, lastChunk: boolean): StreamResponse => ({
    artifactUpdate: { taskId, contextId, artifact: { artifactId, name: "response", parts }, append, lastChunk }
  })

  const onResponse = (event: Protocol.ResponseEvent): ReadonlyArray<StreamResponse> => {
    if (event.status === "created") return [{ task: task() }]
    if (event.status === "in_progress") return [setStatus("TASK_STATE_WORKING")]
    // the final output is the authority on the answer
    artifacts.clear()
    for (const message of event.output) {
      if (isAnswer(message)) artifacts.set(message.id, newArtifact((message.content ?? []).map(toPart)))
    }
    ended = true
    const state = timeout !== undefined && event.status === "canceled" ? "TASK_STATE_FAILED" : finalState(event)
    const last = event.output.at(-1)
    const message = state === "TASK_STATE_FAILED"
      ? agentMessage(`${taskId}-error`, [{ text: timeout ?? event.error?.message ?? "The agent failed" }], taskId, contextId, {
        code: timeout === undefined ? event.error?.code ?? "error" : "task_timeout"
      })
      : state === "TASK_STATE_INPUT_REQUIRED" && last !== undefined
      ? agentMessage(last.id, (last.content ?? []).map(toPart), taskId, contextId, { type: last.type })
      : undefined
    if (message !== undefined) history.push(message)
    return [setStatus(state, message)]
  }

  const onMessage = (event: Protocol.MessageEvent): ReadonlyArray<StreamResponse> => {
    if (isAnswer(event)) {
      if (event.status === "in_progress") {
        artifacts.set(event.id, newArtifact())
        return []
      }
      const artifact = artifacts.get(event.id)
      if (artifact === undefined || (artifact.parts.length === 0 && artifact.openIndex < 0)) return []
      return [chunk(event.id, [], true, true)]
    }
    if (event.status !== "completed" || event.type === "heartbeat") return []
    const message = agentMessage(event.id, (event.content ?? []).map(toPart), taskId, contextId, { type: event.type })
    history.push(message)
    return [setStatus("TASK_STATE_WORKING", message)]
  }

  const onContent = (event: Protocol.ContentEvent): ReadonlyArray<StreamResponse> => {
    const artifact = artifacts.get(event.msg_id)
    if (artifact === undefined) return []
    const append = artifact.parts.length > 0 || artifact.openIndex >= 0
    if (event.delta === true) {
      if (event.type !== "text" || event.text === "") return []
      if (artifact.openIndex === event.index) artifact.open += event.text
      else {
        if (artifact.openIndex >= 0) artifact.parts.push({ text: artifact.open })
        artifact.streamed.add(event.index)
        artifact.open = event.text
        artifact.openIndex = event.index
      }
      return [chunk(event.msg_id, [{ text: event.text }], append, false)]
    }
    if (event.status !== "completed" || artifact.streamed.has(event.index)) return []
    const { sequence_number: _s, object: _o, status: _st, error: _e, index: _i, delta: _d, msg_id: _m, ...content } = event
    const part = toPart(content as Protocol.Content)
    if (artifact.openIndex >= 0) artifact.parts.push({ text: artifact.open })
    artifact.openIndex = -1
    artifact.parts.push(part)
    return [chunk(event.msg_id, [part], append, false)]
  }

  return {
    onEvent: (event) =>
      event.object === "response" ? onResponse(event) : event.object === "message" ? onMessage(event) : onContent(event),
    task,
    ended: () => ended,
    timedOut: (message) => {
      timeout = message
    },
    cancel: () => {
      setStatus("TASK_STATE_CANCELED")
    }
  }
}
