/** The memory run log (`RunLog.makeMemory`): an entry per run, its frames in one ring of bytes. */
import { Cause, Duration, Effect, Option, Stream } from "effect"
import type * as Protocol from "../../Protocol.ts"
import * as Runner from "../../Runner.ts"
/** The shapes of `RunLog` this module uses (declared here: `RunLog` imports this module). */
declare namespace Log {
  interface RunInfo {
    readonly responseId: string
    readonly sessionId: string
    readonly userId: string
    readonly runId: string
  }
  interface Options {
    readonly retention?: Duration.Input | undefined
    readonly maxEvents?: number | undefined
    readonly maxRuns?: number | undefined
    readonly maxBytes?: number | undefined
  }
  interface ReadOptions {
    readonly owner?: string | undefined
  }
}
import { chunkText } from "../reply/chunkText.ts"
import { evictOldest } from "../util/bounded.ts"
import { ByteRing } from "../util/byteRing.ts"

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
  readonly info: Log.RunInfo
  readonly ring: ByteRing
  readonly parts: Framing
  constructor(info: Log.RunInfo, ring: ByteRing, parts: Framing) {
    this.info = info
    this.ring = ring
    this.parts = parts
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
    let text = this.parts.framesFrom(this.text(i), this.firsts[i], from)
    for (let j = i + 1; j < this.chunks.length; j++) text += this.text(j)
    return text
  }

  frames(): Array<string> {
    this.trim()
    return this.chunks.flatMap((_, i) => this.parts.splitFrames(this.text(i)))
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
/** What the memory log uses of `RunLog` (passed in: `RunLog` imports this module). */
type Framing = Pick<Parts<unknown, unknown, unknown>, "framesFrom" | "splitFrames">

interface Parts<S, Dup, Missing> {
  readonly duplicate: (responseId: string) => Dup
  readonly framesFrom: (text: string, first: number, from: number) => string
  readonly notFound: (responseId: string) => Missing
  readonly splitFrames: (text: string) => Array<string>
  readonly of: (service: {
    readonly open: (info: Log.RunInfo, options?: { readonly fresh?: boolean | undefined }) => Effect.Effect<{ readonly append: (events: ReadonlyArray<Protocol.Event>) => void }, Dup>
    readonly follow: (id: string, after: number, options?: Log.ReadOptions) => Effect.Effect<Stream.Stream<string>, Missing>
    readonly read: (id: string, options?: Log.ReadOptions) => Effect.Effect<{ readonly info: Log.RunInfo; readonly frames: ReadonlyArray<string>; readonly ended: boolean }, Missing>
    readonly latest: (key: { readonly userId: string; readonly sessionId: string }) => Effect.Effect<Option.Option<string>>
  }) => S
}

export const memoryLog = <S, Dup, Missing>(options: Log.Options | undefined, parts: Parts<S, Dup, Missing>): S => {
  const { duplicate, notFound } = parts
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
  const found = (id: string, options: Log.ReadOptions | undefined) =>
    Effect.suspend(() => {
      const entry = find(id)
      return entry === undefined || (options?.owner !== undefined && entry.info.userId !== options.owner)
        ? Effect.fail(notFound(id))
        : Effect.succeed(entry)
    })

  const append = (entry: Entry) => (events: ReadonlyArray<Protocol.Event>) => {
    if (entry.ended || events.length === 0) return
    entry.push(chunkText(events), events[0].sequence_number, events.length)
    entry.next = events[events.length - 1].sequence_number + 1
    // the oldest chunks go first (a chunk holds at most 512 frames)
    while (entry.count > maxEvents && entry.chunks.length > 1) entry.shift()
    if (Runner.isComplete(events)) {
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

  return parts.of({
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
        const entry = new Entry(info, ring, parts)
        runs.set(info.responseId, entry)
        return Effect.succeed({ append: append(entry) })
      }),
    follow: (id, after, options) => Effect.map(found(id, options), (entry) => follow(entry, after)),
    read: (id, options) =>
      Effect.map(found(id, options), (entry) => ({ info: entry.info, frames: entry.frames(), ended: entry.ended })),
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

