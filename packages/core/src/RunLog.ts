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
import { Cause, Context, Duration, Effect, Layer, Option, Schema, Stream } from "effect"
import { HttpServerRespondable } from "effect/http"
import { errorResponse, unavailable } from "./internal/http/httpError.ts"
import * as snapshot from "./internal/run/snapshot.ts"
import { chunkText } from "./internal/reply/chunkText.ts"
import { ByteRing } from "./internal/util/byteRing.ts"
import { evictOldest } from "./internal/util/bounded.ts"
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
  readonly follow: (responseId: string, after: number) => Effect.Effect<Stream.Stream<string, RunLogError>, RunNotFound | RunLogError>
  /** The log as it is now. */
  readonly read: (responseId: string) => Effect.Effect<Snapshot, RunNotFound | RunLogError>
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
 * Whether the last of `events` is the run's terminal event.
 *
 * @since 0.1.0
 */
export const endsRun = (events: ReadonlyArray<Protocol.Event>): boolean => {
  const last = events[events.length - 1]
  return last !== undefined && last.object === "response" &&
    (last.status === "completed" || last.status === "failed" || last.status === "canceled")
}

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
 * A run's log in memory: each chunk of events as the reply sent it (framed
 * once for both) in the log's ring of bytes (a chunk too large for it as a
 * string), with the sequence number of its first frame.
 */
class Entry {
  /** A chunk's position in the ring, or its text. */
  chunks: Array<number | string> = []
  lengths: Array<number> = []
  firsts: Array<number> = []
  /** How many frames the chunks hold, and the sequence number of the next frame to come. */
  count = 0
  next = 0
  ended = false
  endedAt = 0
  waiting: Set<() => void> | undefined = undefined
  readonly info: RunInfo
  readonly ring: ByteRing
  constructor(info: RunInfo, ring: ByteRing) {
    this.info = info
    this.ring = ring
  }

  push(text: string, first: number, frames: number) {
    const position = this.ring.write(text)
    this.chunks.push(position < 0 ? text : position)
    this.lengths.push(position < 0 ? 0 : this.ring.lastLength)
    this.firsts.push(first)
    this.count += frames
  }

  /** Drops the oldest chunk. */
  shift() {
    this.count -= (this.firsts.length > 1 ? this.firsts[1] : this.next) - this.firsts[0]
    this.chunks.shift()
    this.lengths.shift()
    this.firsts.shift()
  }

  /** Drops the oldest chunks the ring has written over. */
  trim() {
    while (this.chunks.length > 0 && typeof this.chunks[0] === "number" && !this.ring.holds(this.chunks[0])) this.shift()
  }

  get first(): number {
    this.trim()
    return this.firsts.length === 0 ? this.next : this.firsts[0]
  }

  private text(i: number): string {
    const chunk = this.chunks[i]
    return typeof chunk === "string" ? chunk : this.ring.read(chunk, this.lengths[i]) ?? ""
  }

  /** The frames from sequence number `from` on, as one text. */
  textFrom(from: number): string {
    this.trim()
    let i = this.firsts.length - 1
    while (i > 0 && this.firsts[i] > from) i--
    let text = framesFrom(this.text(i), this.firsts[i], from)
    for (let j = i + 1; j < this.chunks.length; j++) text += this.text(j)
    return text
  }

  frames(): Array<string> {
    this.trim()
    return this.chunks.flatMap((_, i) => splitFrames(this.text(i)))
  }

  wake() {
    const waiting = this.waiting
    if (waiting === undefined) return
    this.waiting = undefined
    for (const resume of waiting) resume()
  }
}

/**
 * A log in this process's memory, within `options`' bounds.
 *
 * @since 0.1.0
 */
export const makeMemory = (options?: Options): RunLog["Service"] => {
  const retentionMs = Duration.toMillis(Duration.fromInputUnsafe(options?.retention ?? Duration.minutes(10)))
  const maxEvents = Math.max(1, options?.maxEvents ?? 10_000)
  const maxRuns = Math.max(1, options?.maxRuns ?? 1_000)
  const ring = new ByteRing(Math.max(64 * 1024, options?.maxBytes ?? 32 * 1024 * 1024))
  const runs = new Map<string, Entry>()

  const expired = (entry: Entry, now: number) => entry.ended && now - entry.endedAt >= retentionMs
  const drop = (id: string) => {
    runs.delete(id)
  }
  let prunedAt = 0
  const prune = () => {
    const now = Date.now()
    // expired runs are looked for at most once a second (each lookup finds its own expiry)
    if (now - prunedAt >= 1_000) {
      prunedAt = now
      // in start order: the oldest runs come first, and the scan stops at the first one still kept
      for (const [id, entry] of runs) {
        if (!expired(entry, now)) break
        drop(id)
      }
    }
    evictOldest(runs, maxRuns)
  }
  const find = (id: string): Entry | undefined => {
    const entry = runs.get(id)
    if (entry === undefined) return undefined
    // expired, or every frame it had written over in the ring: gone
    if (!expired(entry, Date.now()) && (entry.first < entry.next || entry.next === 0)) return entry
    drop(id)
    return undefined
  }
  const found = (id: string) =>
    Effect.suspend(() => {
      const entry = find(id)
      return entry === undefined ? Effect.fail(notFound(id)) : Effect.succeed(entry)
    })

  const append = (entry: Entry) => (events: ReadonlyArray<Protocol.Event>) => {
    if (entry.ended || events.length === 0) return
    entry.push(chunkText(events), events[0].sequence_number, events.length)
    entry.next = events[events.length - 1].sequence_number + 1
    // the oldest chunks go first (a chunk holds at most 512 frames)
    while (entry.count > maxEvents && entry.chunks.length > 1) entry.shift()
    if (endsRun(events)) {
      entry.ended = true
      entry.endedAt = Date.now()
    }
    entry.wake()
  }

  const follow = (entry: Entry, after: number): Stream.Stream<string> =>
    Stream.fromPull(Effect.sync(() => {
      let cursor = after + 1
      const pull: Effect.Effect<readonly [string], Cause.Done> = Effect.suspend(() => {
        if (cursor < entry.first) cursor = entry.first
        if (cursor < entry.next) {
          const text = entry.textFrom(cursor)
          cursor = entry.next
          return Effect.succeed([text] as const)
        }
        if (entry.ended) return Cause.done()
        return Effect.andThen(
          Effect.callback<void>((resume) => {
            const wake = () => resume(Effect.void)
            ;(entry.waiting ??= new Set()).add(wake)
            return Effect.sync(() => entry.waiting?.delete(wake))
          }),
          pull
        )
      })
      return pull
    }))

  return RunLog.of({
    open: (info, options) =>
      Effect.suspend(() => {
        prune()
        // a fresh id is no other run's
        if (options?.fresh !== true) {
          const known = find(info.responseId)
          if (known !== undefined && (!known.ended || known.info.userId !== info.userId || known.info.sessionId !== info.sessionId)) {
            return Effect.fail(duplicate(info.responseId))
          }
          runs.delete(info.responseId)
        }
        const entry = new Entry(info, ring)
        runs.set(info.responseId, entry)
        return Effect.succeed({ append: append(entry) })
      }),
    follow: (id, after) => Effect.map(found(id), (entry) => follow(entry, after)),
    read: (id) =>
      Effect.map(found(id), (entry) => ({ info: entry.info, frames: entry.frames(), ended: entry.ended })),
    // the newest first, in the order runs started (resuming without an id is rare: no index is kept for it)
    latest: (key) =>
      Effect.sync(() => {
        const ids = [...runs.keys()]
        for (let i = ids.length - 1; i >= 0; i--) {
          const entry = runs.get(ids[i])!
          if (entry.info.userId === key.userId && entry.info.sessionId === key.sessionId) {
            return find(ids[i]) === undefined ? Option.none() : Option.some(ids[i])
          }
        }
        return Option.none()
      })
  })
}

/**
 * The memory log as a Layer.
 *
 * @since 0.1.0
 */
export const layerMemory = (options?: Options): Layer.Layer<RunLog> => Layer.sync(RunLog, () => makeMemory(options))
