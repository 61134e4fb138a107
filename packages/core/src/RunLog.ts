/**
 * The event log of runs: every event a run emits, as the SSE frame
 * `/process` sent, appended in order under its `response_id`, so that a
 * client can join a run, or resume it after a dropped connection, from any
 * node (`GET /process/{id}/events`). Kept for a retention after the run
 * ends, and bounded per run (the oldest frames are dropped first) and, in
 * memory, in runs. `@agentapp/redis` provides it on Redis Streams.
 *
 * @since 0.1.0
 */
import { Context, Duration, Effect, Layer, Option, Schema, Stream } from "effect"
import { HttpServerRespondable } from "effect/http"
import { errorResponse, unavailable } from "./internal/http/httpError.ts"
import * as snapshot from "./internal/run/snapshot.ts"
import { memoryLog } from "./internal/runLog/memory.ts"
import { chunkText } from "./internal/reply/chunkText.ts"
import type { SessionKey } from "./Interrupt.ts"
import type * as Protocol from "./Protocol.ts"
import * as Sse from "./Sse.ts"

/**
 * Who a logged run belongs to.
 *
 * @since 0.1.0
 */
export interface RunInfo {
  readonly responseId: string
  readonly sessionId: string
  readonly userId: string
  /** The run's lease owner (`Interrupt.Claim.runId`): a follower checks it to find a run whose node died. */
  readonly runId: string
}

/**
 * Appends a run's events. `append` never fails and never waits: a backend
 * that cannot write logs the error (the run goes on; a follower sees a gap).
 *
 * @since 0.1.0
 */
export interface Writer {
  readonly append: (events: ReadonlyArray<Protocol.Event>) => void
}

/**
 * A run's log as it is now: who it belongs to, its frames (from the oldest
 * kept) and whether the terminal event is among them.
 *
 * @since 0.1.0
 */
export interface Snapshot {
  readonly info: RunInfo
  readonly frames: ReadonlyArray<string>
  readonly ended: boolean
}

/**
 * No log for this response id: never logged, or expired (HTTP 404 `not_found`).
 *
 * @since 0.1.0
 */
export class RunNotFound extends Schema.TaggedError<RunNotFound>()("RunNotFound", {
  responseId: Schema.String,
  message: Schema.String
}) {
  [HttpServerRespondable.symbol]() {
    return Effect.succeed(errorResponse(404, "not_found", this.message))
  }
}

/**
 * A request named the response id of a run that is still going, or of
 * another session's run (HTTP 409 `conflict`): a client-chosen `id` never
 * takes over another run's log.
 *
 * @since 0.1.0
 */
export class DuplicateRun extends Schema.TaggedError<DuplicateRun>()("DuplicateRun", {
  responseId: Schema.String,
  message: Schema.String
}) {
  [HttpServerRespondable.symbol]() {
    return Effect.succeed(errorResponse(409, "conflict", this.message))
  }
}

/** @internal */
export const duplicate = (responseId: string): DuplicateRun =>
  new DuplicateRun({ responseId, message: `Response id ${responseId.slice(0, 128)} belongs to another run: send another id, or none` })

/**
 * The log's backend could not do what was asked (HTTP 503).
 *
 * @since 0.1.0
 */
export class RunLogError extends Schema.TaggedError<RunLogError>()("RunLogError", {
  message: Schema.String,
  cause: Schema.optional(Schema.Defect())
}) {
  [HttpServerRespondable.symbol]() {
    return unavailable(this)
  }
}

/**
 * How a log is read: with `owner`, another user's run is `RunNotFound`, so
 * that a caller learns nothing of runs that are not theirs.
 *
 * @since 0.1.0
 */
export interface ReadOptions {
  readonly owner?: string | undefined
}

/**
 * The run log service.
 *
 * @since 0.1.0
 */
export class RunLog extends Context.Service<RunLog, {
  /**
   * Starts the log of a run (and makes it its session's latest). A log kept
   * under the same id is replaced only if it has ended and is the same
   * session's (a retried job); else `DuplicateRun`. With `fresh` (the id was
   * just made, not a client's: no log can have it) a backend may skip that
   * check and write the log's start with its first events.
   */
  readonly open: (info: RunInfo, options?: { readonly fresh?: boolean | undefined }) => Effect.Effect<Writer, DuplicateRun | RunLogError>
  /**
   * The frames after sequence number `after` (-1 for all), then live ones
   * until the terminal event, as chunks of SSE text.
   */
  readonly follow: (
    responseId: string,
    after: number,
    options?: ReadOptions
  ) => Effect.Effect<Stream.Stream<string, RunLogError>, RunNotFound | RunLogError>
  /** The log as it is now. */
  readonly read: (responseId: string, options?: ReadOptions) => Effect.Effect<Snapshot, RunNotFound | RunLogError>
  /** The response id of the session's latest logged run, if it is still kept. */
  readonly latest: (key: SessionKey) => Effect.Effect<Option.Option<string>, RunLogError>
}>()("@agentapp/core/RunLog") {}

/**
 * The bounds of a log.
 *
 * @since 0.1.0
 */
export interface Options {
  /** How long a run's log is kept after its end. Default 10 minutes. */
  readonly retention?: Duration.Input | undefined
  /** The most frames kept per run; the oldest are dropped first. Default 10,000. */
  readonly maxEvents?: number | undefined
  /** Memory only: the most runs kept, the oldest dropped first. Default 1,000. */
  readonly maxRuns?: number | undefined
  /**
   * Memory only: the bytes of frames kept in all, in one ring allocated on
   * first use; the oldest frames are written over first. Default 32 MiB.
   */
  readonly maxBytes?: number | undefined
}

/** @internal */
export const notFound = (responseId: string): RunNotFound =>
  new RunNotFound({ responseId, message: `No run ${responseId.slice(0, 128)} (unknown, or its log has expired)` })

/**
 * The SSE text of a chunk of a run's events: the frames `/process` sends,
 * framed once for the reply and the log.
 *
 * @since 0.1.0
 */
export const chunkFrames: (events: ReadonlyArray<Protocol.Event>) => string = chunkText

/**
 * The frames of a chunk's text from sequence number `from` on (`first` is
 * the chunk's first).
 *
 * @since 0.1.0
 */
export const framesFrom = (text: string, first: number, from: number): string =>
  from <= first ? text : text.slice(text.indexOf(`\n\nid: ${from}\n`) + 2)

/**
 * The frames of a chunk's text, one string each.
 *
 * @since 0.1.0
 */
export const splitFrames = (text: string): Array<string> => text.split(frameEnds)

const frameEnds = /(?<=\n\n)(?=.)/s

/**
 * The data of a logged frame, as the event it carries.
 *
 * @since 0.1.0
 */
export const eventOf: (frame: string) => Protocol.Event = snapshot.eventOf

/**
 * Whether a logged frame carries its run's terminal event.
 *
 * @since 0.1.0
 */
export const isEndingFrame: (frame: string) => boolean = snapshot.isEndingFrame

/**
 * The response object of a run so far: its terminal response once it has
 * ended, else the latest response event with the messages streamed until now.
 *
 * @since 0.1.0
 */
export const responseSoFar: (snapshot: Snapshot) => Protocol.ResponseEvent = snapshot.responseSoFar

/**
 * The terminal frame of a run whose node died before it ended: `response
 * failed` (code `RUN_LOST`) with the output so far, numbered after the last
 * logged frame.
 *
 * @since 0.1.0
 */
export const lostEnding = (logged: Snapshot): string => {
  const last = logged.frames[logged.frames.length - 1]
  const sequence = last === undefined ? 0 : eventOf(last).sequence_number + 1
  return Sse.eventFrame({
    ...responseSoFar(logged),
    sequence_number: sequence,
    status: "failed",
    error: { code: "RUN_LOST", message: "The node that ran this run stopped before the run ended" },
    completed_at: Math.floor(Date.now() / 1000)
  })
}

/**
 * A log in this process's memory, within `options`' bounds: the frames in one
 * ring of bytes (`maxBytes`), at most `maxRuns` runs.
 *
 * @since 0.1.0
 */
export const makeMemory = (options?: Options): RunLog["Service"] =>
  memoryLog(options, { duplicate, framesFrom, notFound, splitFrames, of: RunLog.of })

/**
 * The memory log as a Layer.
 *
 * @since 0.1.0
 */
export const layerMemory = (options?: Options): Layer.Layer<RunLog> => Layer.sync(RunLog, () => makeMemory(options))
