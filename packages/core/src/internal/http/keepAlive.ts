import { Context, Duration, Effect, Layer, Schedule, type Scope } from "effect"
import type { StreamWriter } from "./connection.ts"
import { registerScoped } from "../util/scoped.ts"

/** The comment frame sent on a quiet stream, so proxies keep it open. */
export const keepAliveFrame = ": keep-alive\n\n"

/** A watched stream: `touch` marks it active (called once per written chunk). */
export interface Watch {
  readonly touch: () => void
}

/** A watched stream, and its own watch: one object per stream, with its finalizer. */
class Entry implements Watch {
  readonly writer: StreamWriter
  readonly entries: Set<Entry>
  active = true
  idleMs = 0

  constructor(writer: StreamWriter, entries: Set<Entry>) {
    this.writer = writer
    this.entries = entries
  }

  touch(): void {
    this.active = true
  }

  register(): Entry {
    this.entries.add(this)
    return this
  }

  readonly release = (): Effect.Effect<void> => {
    this.entries.delete(this)
    return Effect.void
  }
}

const noWatch: Watch = { touch: () => {} }

/**
 * Keep-alive comments for every SSE stream of a server, from one timer: a
 * stream quiet for the interval gets `: keep-alive`. Nothing runs per frame
 * but a flag, and nothing per stream but a map entry.
 */
export class KeepAlive extends Context.Service<KeepAlive, {
  /** Watches the response that `writer` writes to until the scope closes (none without a writer). */
  readonly watch: (writer: StreamWriter | undefined) => Effect.Effect<Watch, never, Scope.Scope>
}>()("@agentapp/core/KeepAlive") {
  static readonly layer = (interval: Duration.Duration): Layer.Layer<KeepAlive> =>
    Layer.effect(
      KeepAlive,
      Effect.gen(function*() {
        const intervalMs = Duration.toMillis(interval)
        if (intervalMs <= 0) return KeepAlive.of({ watch: () => Effect.succeed(noWatch) })
        const tickMs = Math.min(1_000, Math.max(5, Math.floor(intervalMs / 3)))
        const entries = new Set<Entry>()
        const sweep = Effect.sync(() => {
          for (const entry of entries) {
            if (entry.active) {
              entry.active = false
              entry.idleMs = 0
              continue
            }
            entry.idleMs += tickMs
            if (entry.idleMs >= intervalMs) {
              entry.idleMs = 0
              entry.writer.tryWrite(keepAliveFrame)
            }
          }
        })
        yield* Effect.forkScoped(Effect.repeat(sweep, Schedule.spaced(Duration.millis(tickMs))))
        return KeepAlive.of({
          watch: (writer) => {
            if (writer === undefined) return Effect.succeed(noWatch)
            const entry = new Entry(writer, entries)
            return registerScoped(() => entry.register(), entry.release)
          }
        })
      })
    )
}
