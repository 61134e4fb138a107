/**
 * The state of one run: handler outputs in, numbered protocol events out,
 * with the message and content lifecycles, `output`, `usage` and the one
 * terminal event (the Runner drives it; `Runner` re-exports what is public).
 */
import type { Cause } from "effect"
import type * as Output from "../../Output.ts"
import type * as Protocol from "../../Protocol.ts"
import { failureOf } from "../util/failure.ts"
import { flatten } from "../util/flat.ts"
import { prefixedId } from "../util/ids.ts"

/**
 * The identity of one run, fixed before it starts.
 *
 * @since 0.1.0
 */
export interface RunContext {
  readonly request: Protocol.AgentRequest
  readonly responseId: string
  readonly sessionId: string
  readonly userId: string
}

/**
 * The error code of a failure that carries no tag, and of defects.
 *
 * @since 0.1.0
 */
export const UNKNOWN_ERROR_CODE = "AGENT_UNKNOWN_ERROR"

/**
 * The code and message that a failure shows to clients: the tag and message
 * of a tagged error, and a generic message for defects, so that no stack
 * trace or internal detail leaks.
 *
 * @since 0.1.0
 */
export const errorInfo = (cause: Cause.Cause<unknown>): Protocol.ErrorInfo => {
  const failure = failureOf(cause)
  if (failure === undefined) return { code: UNKNOWN_ERROR_CODE, message: "An unexpected error occurred in the agent" }
  return { code: failure.tag ?? UNKNOWN_ERROR_CODE, message: failure.message ?? failure.tag ?? "The agent failed" }
}

const nowSeconds = () => Math.floor(Date.now() / 1000)

/**
 * A text delta as the Runner builds it: a plain protocol content event whose
 * keys are always in this order, so that SSE can frame it from a template
 * instead of a generic `JSON.stringify` (the most frequent event of a run).
 *
 * @since 0.1.0
 */
export class TextDeltaEvent {
  readonly sequence_number: number
  readonly object = "content" as const
  readonly status = "in_progress" as const
  readonly error = null
  readonly type = "text" as const
  readonly index: number
  readonly delta = true as const
  readonly msg_id: string
  readonly text: string
  constructor(sequence: number, index: number, msgId: string, text: string) {
    this.sequence_number = sequence
    this.index = index
    this.msg_id = msgId
    this.text = text
  }
}

type OpenKind = "text" | "reasoning" | "other"

interface OpenMessage {
  readonly event: Mutable<Protocol.MessageEvent>
  readonly kind: OpenKind
  readonly parts: Array<Protocol.ContentEvent>
  /** The text part being streamed, if any. */
  textPart: TextPart | undefined
}

/** The text of a part being streamed, and how many deltas were appended since it was last flattened. */
interface TextPart {
  readonly index: number
  text: string
  appended: number
}

/**
 * Whether a streamed text should be flattened, after `appended` deltas since
 * the last time: `+=` keeps a rope node per delta, which outweighs the text it
 * holds; flattened once the nodes would, copies cost at most 64 characters per delta.
 */
const shouldFlatten = (appended: number, length: number): boolean => appended >= 64 && appended * 64 >= length

export type NonEmptyArray<A> = [A, ...Array<A>]

type Mutable<T> = { -readonly [K in keyof T]: T[K] }

/**
 * The mutable state of one run. Each run has its own, used from one fiber.
 */
export class RunState {
  private sequence = 0
  private readonly output: Array<Protocol.MessageEvent> = []
  private open: OpenMessage | undefined = undefined
  private usage: Record<string, unknown> | null = null
  private readonly createdAt = nowSeconds()
  private canceled = false
  private ended = false

  private readonly context: RunContext

  constructor(context: RunContext) {
    this.context = context
  }

  start(): Array<Protocol.Event> {
    return [this.response("created", null), this.response("in_progress", null)]
  }

  cancel(): void {
    this.canceled = true
  }

  get isCanceled(): boolean {
    return this.canceled
  }

  finish(): Array<Protocol.Event> {
    if (this.ended) return []
    const out: Array<Protocol.Event> = []
    this.closeMessage(out, this.canceled ? "incomplete" : "completed")
    this.ended = true
    out.push(this.response(this.canceled ? "canceled" : "completed", null))
    return out
  }

  fail(cause: Cause.Cause<unknown>): Array<Protocol.Event> {
    if (this.ended) return []
    const out: Array<Protocol.Event> = []
    this.closeMessage(out, "incomplete")
    this.ended = true
    out.push(this.response("failed", errorInfo(cause)))
    return out
  }

  push(chunk: ReadonlyArray<Output.AgentOutput>): Array<Protocol.Event> {
    const out: Array<Protocol.Event> = []
    for (let i = 0; i < chunk.length; i++) {
      this.pushOne(chunk[i], out)
    }
    return out
  }

  private pushOne(output: Output.AgentOutput, out: Array<Protocol.Event>): void {
    switch (output._tag) {
      case "TextDelta":
        return this.delta("text", output.text, out)
      case "ReasoningDelta":
        return this.delta("reasoning", output.text, out)
      case "Data": {
        const open = this.openFor("text", out)
        this.endTextPart(open, out)
        this.completePart(open, { type: "data", data: output.data }, out)
        return
      }
      case "ToolCall":
        return this.whole(output.messageType, "assistant", [{
          type: "data",
          data: { call_id: output.call_id, name: output.name, arguments: output.arguments }
        }], null, out)
      case "ToolResult":
        return this.whole(output.messageType, "tool", [{
          type: "data",
          data: { call_id: output.call_id, name: output.name, output: output.output }
        }], null, out)
      case "WholeMessage":
        return this.whole(output.type, output.role, output.content, output.metadata, out)
      case "Usage": {
        this.usage = addUsage(this.usage, output.usage)
        if (this.open !== undefined) this.open.event.usage = addUsage(this.open.event.usage, output.usage)
        return
      }
      case "EndMessage":
        return this.closeMessage(out, "completed")
      case "RawEvent": {
        this.closeMessage(out, "completed")
        const event = { sequence_number: this.sequence++, ...output.event } as Protocol.Event
        if (event.object === "message" && event.status === "completed") this.output.push(event)
        out.push(event)
        return
      }
    }
  }

  private delta(kind: "text" | "reasoning", text: string, out: Array<Protocol.Event>): void {
    const open = this.openFor(kind, out)
    let part = open.textPart
    if (part === undefined) {
      part = { index: open.parts.length, text: "", appended: 0 }
      open.textPart = part
    }
    part.text += text
    if (shouldFlatten(++part.appended, part.text.length)) {
      part.appended = 0
      part.text = flatten(part.text)
    }
    out.push(new TextDeltaEvent(this.sequence++, part.index, open.event.id, text))
  }

  /** The open message for this kind of delta, opening a new one when the kind changes. */
  private openFor(kind: "text" | "reasoning", out: Array<Protocol.Event>): OpenMessage {
    if (this.open !== undefined && this.open.kind === kind) return this.open
    this.closeMessage(out, "completed")
    return this.openMessage(kind === "text" ? "message" : "reasoning", "assistant", kind, null, out)
  }

  private openMessage(
    type: Protocol.MessageType,
    role: Protocol.Role,
    kind: OpenKind,
    metadata: Protocol.JsonObject | null,
    out: Array<Protocol.Event>
  ): OpenMessage {
    const event: Mutable<Protocol.MessageEvent> = {
      sequence_number: this.sequence++,
      object: "message",
      status: "in_progress",
      error: null,
      id: prefixedId("msg"),
      type,
      role,
      content: null,
      code: null,
      message: null,
      usage: null,
      metadata
    }
    out.push({ ...event })
    const open: OpenMessage = { event, kind, parts: [], textPart: undefined }
    this.open = open
    return open
  }

  private whole(
    type: Protocol.MessageType,
    role: Protocol.Role,
    content: ReadonlyArray<Protocol.Content>,
    metadata: Protocol.JsonObject | null,
    out: Array<Protocol.Event>
  ): void {
    this.closeMessage(out, "completed")
    const open = this.openMessage(type, role, "other", metadata, out)
    for (let i = 0; i < content.length; i++) {
      this.completePart(open, content[i], out)
    }
    this.closeMessage(out, "completed")
  }

  private completePart(open: OpenMessage, content: Protocol.Content, out: Array<Protocol.Event>): void {
    const part = {
      sequence_number: this.sequence++,
      object: "content",
      status: "completed",
      error: null,
      index: open.parts.length,
      delta: false,
      msg_id: open.event.id,
      ...content
    } as Protocol.ContentEvent
    open.parts.push(part)
    out.push(part)
  }

  private endTextPart(open: OpenMessage, out: Array<Protocol.Event>, status: Protocol.RunStatus = "completed"): void {
    const part = open.textPart
    if (part === undefined) return
    open.textPart = undefined
    const event: Protocol.ContentEvent = {
      sequence_number: this.sequence++,
      object: "content",
      status,
      error: null,
      type: "text",
      index: part.index,
      delta: false,
      msg_id: open.event.id,
      text: part.text
    }
    open.parts.push(event)
    out.push(event)
  }

  private closeMessage(out: Array<Protocol.Event>, status: "completed" | "incomplete"): void {
    const open = this.open
    if (open === undefined) return
    this.open = undefined
    this.endTextPart(open, out, status)
    const event: Protocol.MessageEvent = {
      ...open.event,
      sequence_number: this.sequence++,
      status,
      content: open.parts
    }
    this.output.push(event)
    out.push(event)
  }

  private response(status: Protocol.RunStatus, error: Protocol.ErrorInfo | null): Protocol.ResponseEvent {
    const terminal = status === "completed" || status === "failed" || status === "canceled"
    return {
      sequence_number: this.sequence++,
      object: "response",
      status,
      error,
      id: this.context.responseId,
      created_at: this.createdAt,
      completed_at: terminal ? nowSeconds() : null,
      output: terminal ? this.output : [],
      usage: this.usage,
      session_id: this.context.sessionId
    }
  }
}

const addUsage = (
  total: Record<string, unknown> | null,
  add: Protocol.JsonObject
): Record<string, unknown> => {
  const result: Record<string, unknown> = { ...total }
  for (const key of Object.keys(add)) {
    const value = add[key]
    const previous = result[key]
    result[key] = typeof value === "number" && typeof previous === "number" ? previous + value : value
  }
  return result
}
