/**
 * `RunLog` on Redis, so that any node serves any run's events:
 *
 * - A run's frames are a Redis Stream, an entry per chunk the reply wrote
 *   (its frames as one text, id `<last sequence number>-1`, the entries all
 *   older than `maxEvents` dropped), beside a hash of who it belongs to, its
 *   lease and whether it has ended; each append is one script call that also
 *   publishes the chunk on the run's channel (and, for a fresh id, starts the
 *   hash). The keys expire `retention` after the end (`liveTtl` while the run
 *   goes on, renewed by each append).
 * - A follower subscribes to the channel (once per node and run), then reads
 *   the stream after its cursor: a frame is either read or published after
 *   the subscription, so none is missed, and numbering drops the repeats.
 * - A quiet follower checks, every `checkEvery`, that the run's lease is
 *   still held by its run; when it is not (its node died), it ends the log
 *   with `response failed` (`RUN_LOST`), once for every follower.
 *
 * @since 0.1.0
 */
import { Interrupt, Runner, RunLog } from "@agentapp/core"
import type { Protocol } from "@agentapp/core"
import { Duration, Effect, Layer, Option, Queue, Stream } from "effect"
import * as Scripts from "./internal/scripts.ts"
import { commands, RedisConnection } from "./RedisConnection.ts"

/**
 * Options of {@link make}.
 *
 * @since 0.1.0
 */
export interface Options extends RunLog.Options {
  /** How long the keys of a run that goes on live without an append. Default 24 hours. */
  readonly liveTtl?: Duration.Input | undefined
  /** How long a follower waits in silence before it checks that the run's node is alive. Default 2 s. */
  readonly checkEvery?: Duration.Input | undefined
}

const fail = (error: { readonly message: string }) => new RunLog.RunLogError({ message: error.message, cause: error })

type Entries = Array<[string, Array<string>]>

/**
 * The Redis run log, on the app's `RedisConnection`.
 *
 * @since 0.1.0
 */
export const make = Effect.fnUntraced(function*(options?: Options) {
  const redis = yield* RedisConnection
  const retentionMs = Math.max(1, Duration.toMillis(Duration.fromInputUnsafe(options?.retention ?? Duration.minutes(10))))
  const liveTtlMs = Math.max(1, Duration.toMillis(Duration.fromInputUnsafe(options?.liveTtl ?? Duration.hours(24))))
  const checkEvery = Duration.fromInputUnsafe(options?.checkEvery ?? Duration.seconds(2))
  const maxEvents = Math.max(1, options?.maxEvents ?? 10_000)
  const { script, use } = commands(redis, fail)
  const open = script(Scripts.openLog)
  const appendLog = script(Scripts.appendLog)
  const markLost = script(Scripts.markLost)
  const runFork = Effect.runForkWith(yield* Effect.context<never>())
  const streamKey = (id: string) => `${redis.prefix}:log:${id}`
  const metaKey = (id: string) => `${redis.prefix}:log-meta:${id}`
  const channelOf = (id: string) => `${redis.prefix}:log:${id}`
  const latestKey = (key: Interrupt.SessionKey) => `${redis.prefix}:log-latest:${Interrupt.keyString(key)}`
  const leaseKey = (key: Interrupt.SessionKey) => `${redis.prefix}:lease:${Interrupt.keyString(key)}`

  // one subscription per channel for the followers of this node
  const listeners = new Map<string, Set<(payload: string) => void>>()
  const onMessage = (channel: string, payload: string) => {
    const set = listeners.get(channel)
    if (set !== undefined) for (const listener of set) listener(payload)
  }
  yield* Effect.acquireRelease(
    Effect.sync(() => redis.subscriber.on("message", onMessage)),
    () => Effect.sync(() => redis.subscriber.off("message", onMessage))
  )
  const listen = (channel: string, listener: (payload: string) => void) =>
    Effect.acquireRelease(
      Effect.suspend(() => {
        const set = listeners.get(channel)
        if (set !== undefined) return Effect.sync(() => set.add(listener))
        listeners.set(channel, new Set([listener]))
        return Effect.asVoid(use(() => redis.subscriber.subscribe(channel)))
      }),
      () =>
        Effect.suspend(() => {
          const set = listeners.get(channel)
          set?.delete(listener)
          if (set === undefined || set.size > 0) return Effect.void
          listeners.delete(channel)
          return Effect.ignore(use(() => redis.subscriber.unsubscribe(channel)))
        })
    )

  /** A logged chunk: its first and last sequence numbers, its frames, whether it ends the run. */
  interface Chunk {
    readonly first: number
    readonly last: number
    readonly text: string
  }
  const chunksOf = (entries: Entries): Array<Chunk> =>
    entries.map(([id, fields]) => ({ first: Number(fields[1]), last: Number.parseInt(id, 10), text: fields[3] }))
  const range = (id: string, after: number) =>
    Effect.map(use((client) => client.xrange(streamKey(id), after < 0 ? "-" : `(${after}-1`, "+")), chunksOf)
  const meta = (id: string, options: RunLog.ReadOptions | undefined) =>
    Effect.flatMap(use((client) => client.hgetall(metaKey(id))), (fields) =>
      fields.run === undefined || (options?.owner !== undefined && fields.user !== options.owner)
        ? Effect.fail(RunLog.notFound(id))
        : Effect.succeed(fields))
  const snapshotOf = (id: string, fields: Record<string, string>): Effect.Effect<RunLog.Snapshot, RunLog.RunLogError> =>
    Effect.map(range(id, -1), (chunks) => ({
      info: { responseId: id, sessionId: fields.session!, userId: fields.user!, runId: fields.run! },
      frames: chunks.flatMap((chunk) => RunLog.splitFrames(chunk.text)),
      ended: fields.ended === "1"
    }))
  const endsRun = (chunk: Chunk) => RunLog.isEndingFrame(chunk.text.slice(chunk.text.lastIndexOf("\n\nid: ") + 2))

  /** The payload of a publish (the script builds it): the chunk's first and last sequence numbers, then its frames. */
  const parsePayload = (payload: string): Chunk => {
    const space = payload.indexOf(" ")
    const newline = payload.indexOf("\n")
    return { first: Number(payload.slice(0, space)), last: Number(payload.slice(space + 1, newline)), text: payload.slice(newline + 1) }
  }
  /** The arguments of `appendLog` and `markLost` for a chunk. */
  const chunkArgs = (id: string, first: number, last: number, text: string, ended: boolean) =>
    [channelOf(id), Math.max(0, last + 1 - maxEvents), ended ? retentionMs : liveTtlMs, ended ? 1 : 0, "", id, last, first, text] as const

  const writer = (info: RunLog.RunInfo, fresh: boolean): RunLog.Writer => {
    const keys = [streamKey(info.responseId), metaKey(info.responseId), latestKey(info)] as const
    // a fresh log starts with its first chunk, in the same call
    let opening = fresh
    return {
      append: (events: ReadonlyArray<Protocol.Event>) => {
        if (events.length === 0) return
        const args = chunkArgs(info.responseId, events[0].sequence_number, events[events.length - 1].sequence_number, RunLog.chunkFrames(events), Runner.isComplete(events))
        const call = opening
          ? appendLog(...keys, ...args, info.userId, info.sessionId, info.runId, leaseKey(info))
          : appendLog(...keys, ...args)
        opening = false
        // commands leave in order on the one connection: the appends of a run stay in order
        runFork(call.pipe(Effect.catchCause((cause) => Effect.logWarning("could not append to a run's event log", cause))))
      }
    }
  }

  const follow = (id: string, after: number, fields: Record<string, string>): Stream.Stream<string, RunLog.RunLogError> =>
    Stream.callback<string, RunLog.RunLogError>((queue) =>
      Effect.gen(function*() {
        const inbox: Array<string> = []
        let wake: (() => void) | undefined
        yield* listen(channelOf(id), (payload) => {
          inbox.push(payload)
          wake?.()
        })
        let cursor = after
        let ended = false
        const emit = (chunks: ReadonlyArray<Chunk>) => {
          let text = ""
          for (const chunk of chunks) {
            if (chunk.last <= cursor || ended) continue
            text += RunLog.framesFrom(chunk.text, chunk.first, cursor + 1)
            cursor = chunk.last
            if (endsRun(chunk)) ended = true
          }
          if (text !== "") Queue.offerUnsafe(queue, text)
        }
        const catchUp = Effect.map(range(id, cursor), emit)
        const key = { userId: fields.user!, sessionId: fields.session! }
        // the run's node is alive, or the log ends with RUN_LOST; then the frames since are read
        const check = Effect.gen(function*() {
          // the lease read first: the whole log is read only for a run found lost
          if ((yield* use((client) => client.get(leaseKey(key)))) === fields.run) return
          const logged = yield* snapshotOf(id, fields)
          if (logged.ended) return
          const ending = RunLog.lostEnding(logged)
          const seq = RunLog.eventOf(ending).sequence_number
          yield* markLost(streamKey(id), metaKey(id), leaseKey(key), ...chunkArgs(id, seq, seq, ending, true))
        })
        const quiet = Effect.callback<void>((resume) => {
          wake = () => resume(Effect.void)
          return Effect.sync(() => (wake = undefined))
        }).pipe(Effect.timeoutOption(checkEvery))
        yield* catchUp
        // a log that had ended before the follower came has nothing more to give
        if (fields.ended === "1") ended = true
        while (!ended) {
          if (inbox.length === 0) {
            const woke = yield* quiet
            wake = undefined
            if (Option.isNone(woke)) {
              yield* catchUp
              if (!ended) {
                yield* check
                yield* catchUp
                // past the end (a cursor beyond the terminal event): nothing will come
                if (!ended && (yield* use((client) => client.hget(metaKey(id), "ended"))) !== "0") ended = true
              }
              continue
            }
          }
          for (const payload of inbox.splice(0)) {
            const chunk = parsePayload(payload)
            // a publish missed while Redis was away leaves a gap: read it from the stream first
            if (chunk.first > cursor + 1) yield* catchUp
            emit([chunk])
          }
        }
        yield* Queue.end(queue)
      }))

  return RunLog.RunLog.of({
    open: (info, options) =>
      options?.fresh === true ? Effect.succeed(writer(info, true)) : Effect.flatMap(
        open(streamKey(info.responseId), metaKey(info.responseId), latestKey(info), info.userId, info.sessionId, info.runId, leaseKey(info), info.responseId, liveTtlMs),
        (opened) => opened === 1 ? Effect.succeed(writer(info, false)) : Effect.fail(RunLog.duplicate(info.responseId))
      ),
    follow: (id, after, options) => Effect.map(meta(id, options), (fields) => follow(id, after, fields)),
    read: (id, options) => Effect.flatMap(meta(id, options), (fields) => snapshotOf(id, fields)),
    latest: (key) => Effect.map(use((client) => client.get(latestKey(key))), Option.fromNullishOr)
  })
})

/**
 * The Redis run log as a layer.
 *
 * @since 0.1.0
 */
export const layer = (options?: Options): Layer.Layer<RunLog.RunLog, never, RedisConnection> =>
  Layer.effect(RunLog.RunLog, make(options))
