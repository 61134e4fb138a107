/**
 * A2A's shapes on the wire: parts to and from the protocol's content parts,
 * and the 0.3 spelling of what the routes build in v1.0's (the legacy method
 * names answer in it).
 */
import type * as A2a from "../../../A2a.ts"
import type * as Protocol from "../../../Protocol.ts"

/** Which version a request speaks: its method name tells (`SendMessage` or `message/send`). */
export type Dialect = "1.0" | "0.3"

/** What a stream sends: one of the four members of v1.0's `StreamResponse`. */
export type StreamResponse =
  | { readonly task: A2a.Task }
  | { readonly message: A2a.Message }
  | { readonly statusUpdate: StatusUpdate }
  | { readonly artifactUpdate: ArtifactUpdate }

export interface StatusUpdate {
  readonly taskId: string
  readonly contextId: string
  readonly status: A2a.TaskStatus
}

export interface ArtifactUpdate {
  readonly taskId: string
  readonly contextId: string
  readonly artifact: A2a.Artifact
  readonly append: boolean
  readonly lastChunk: boolean
}

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value)

const dataUrl = /^data:([^;,]*)(?:;[^,]*)?;base64,(.*)$/s

/** An A2A part as a content part of the agent protocol (files by their media type: image, audio, video or file). */
export const toContent = (part: A2a.Part): Protocol.Content => {
  if (part.text !== undefined) return { type: "text", text: part.text }
  if (part.data !== undefined) {
    return { type: "data", data: (isPlainObject(part.data) ? part.data : { value: part.data }) as Protocol.JsonObject }
  }
  const mediaType = part.mediaType ?? ""
  const url = part.url ?? `data:${mediaType || "application/octet-stream"};base64,${part.raw ?? ""}`
  if (mediaType.startsWith("image/")) return { type: "image", image_url: url }
  if (mediaType.startsWith("audio/") && part.raw !== undefined) {
    return { type: "audio", data: part.raw, format: mediaType.slice("audio/".length) }
  }
  if (mediaType.startsWith("video/") && part.url !== undefined) return { type: "video", video_url: part.url }
  return {
    type: "file",
    ...(part.url === undefined ? { file_data: url } : { file_url: part.url }),
    ...(part.filename === undefined ? {} : { filename: part.filename })
  }
}

/** A URL as a part: a data URL as its bytes and media type. */
const urlPart = (url: string, kind: string, filename?: string | null): A2a.Part => {
  const inline = dataUrl.exec(url)
  const name = filename == null ? {} : { filename }
  return inline === null
    ? { url, ...name, metadata: { type: kind } }
    : { raw: inline[2], mediaType: inline[1] || "application/octet-stream", ...name }
}

/** A content part of the agent protocol as an A2A part. */
export const toPart = (content: Protocol.Content): A2a.Part => {
  switch (content.type) {
    case "text":
      return { text: content.text }
    case "data":
      return { data: content.data }
    case "image":
      return urlPart(content.image_url, "image")
    case "audio":
      return { raw: content.data, mediaType: `audio/${content.format ?? "wav"}` }
    case "video":
      return urlPart(content.video_url, "video")
    case "file":
      return content.file_url != null
        ? urlPart(content.file_url, "file", content.filename)
        : content.file_data != null
        ? urlPart(content.file_data.startsWith("data:") ? content.file_data : `data:;base64,${content.file_data}`, "file", content.filename)
        : { data: { file_id: content.file_id ?? null }, metadata: { type: "file" } }
    case "refusal":
      return { text: content.refusal, metadata: { type: "refusal" } }
  }
}

// --- 0.3 ---

const legacyState = (state: A2a.TaskState): string =>
  state.slice("TASK_STATE_".length).toLowerCase().replaceAll("_", "-")

const legacyPart = (part: A2a.Part): Record<string, unknown> => {
  const metadata = part.metadata === undefined ? {} : { metadata: part.metadata }
  if (part.text !== undefined) return { kind: "text", text: part.text, ...metadata }
  if (part.data !== undefined) {
    return isPlainObject(part.data)
      ? { kind: "data", data: part.data, ...metadata }
      : { kind: "data", data: { value: part.data }, metadata: { ...part.metadata, data_part_compat: true } }
  }
  const file = {
    ...(part.raw === undefined ? { uri: part.url ?? "" } : { bytes: part.raw }),
    ...(part.mediaType === undefined ? {} : { mimeType: part.mediaType }),
    ...(part.filename === undefined ? {} : { name: part.filename })
  }
  return { kind: "file", file, ...metadata }
}

const legacyMessage = (message: A2a.Message): Record<string, unknown> => ({
  ...message,
  kind: "message",
  role: message.role === "ROLE_USER" ? "user" : "agent",
  parts: message.parts.map(legacyPart)
})

const legacyStatus = (status: A2a.TaskStatus): Record<string, unknown> => ({
  state: legacyState(status.state),
  timestamp: status.timestamp,
  ...(status.message === undefined ? {} : { message: legacyMessage(status.message) })
})

const legacyArtifact = (artifact: A2a.Artifact): Record<string, unknown> => ({
  ...artifact,
  parts: artifact.parts.map(legacyPart)
})

/** A task in 0.3's spelling. */
export const legacyTask = (task: A2a.Task): Record<string, unknown> => ({
  kind: "task",
  id: task.id,
  contextId: task.contextId,
  status: legacyStatus(task.status),
  ...(task.artifacts === undefined ? {} : { artifacts: task.artifacts.map(legacyArtifact) }),
  ...(task.history === undefined ? {} : { history: task.history.map(legacyMessage) }),
  ...(task.metadata === undefined ? {} : { metadata: task.metadata })
})

/** A stream response in the request's dialect: v1.0 wraps it in its member's name, 0.3 tags it with `kind`. */
export const streamResult = (response: StreamResponse, dialect: Dialect): unknown => {
  if (dialect === "1.0") return response
  if ("task" in response) return legacyTask(response.task)
  if ("message" in response) return legacyMessage(response.message)
  if ("statusUpdate" in response) {
    const { status, ...update } = response.statusUpdate
    const final = status.state !== "TASK_STATE_WORKING" && status.state !== "TASK_STATE_SUBMITTED"
    return { kind: "status-update", ...update, status: legacyStatus(status), final }
  }
  const { artifact, ...update } = response.artifactUpdate
  return { kind: "artifact-update", ...update, artifact: legacyArtifact(artifact) }
}

/** The result of a (non-streaming) send in `dialect`: v1.0 wraps the task in `task`, 0.3 tags it with `kind`. */
export const sendResult = (task: A2a.Task, dialect: Dialect): unknown => dialect === "1.0" ? { task } : legacyTask(task)

/** A task as the result of a request in `dialect`. */
export const taskResult = (task: A2a.Task, dialect: Dialect): unknown => dialect === "1.0" ? task : legacyTask(task)
