/**
 * `AgentClient.process` through dropped connections: the events are counted
 * as they arrive, and when the connection fails mid-run the client joins the
 * run's log from the last sequence number it saw, with a bounded, growing
 * delay between tries (reset by every event that arrives).
 */
import { Cause, Duration, Effect, Stream } from "effect"
import * as Protocol from "../../Protocol.ts"

/** How a client resumes: how many tries in a row, and the delay before the first (doubled each time). */
export interface ResumeOptions {
  readonly retries: number
  readonly delay: Duration.Duration
}

export const resuming = <E, E2>(
  start: Stream.Stream<Protocol.Event, E>,
  join: (responseId: string, after: number) => Stream.Stream<Protocol.Event, E2>,
  isDropped: (error: E | E2) => boolean,
  options: ResumeOptions,
  /**
   * Run when the stream ends before the run does (the run would go on without
   * its client), with whether the run was seen started.
   */
  onLeave: (seen: boolean) => Effect.Effect<void>
): Stream.Stream<Protocol.Event, E | E2> =>
  Stream.suspend(() => {
    let responseId: string | undefined
    let last = -1
    let ended = false
    let failures = 0
    const seen = (event: Protocol.Event) =>
      Effect.sync(() => {
        failures = 0
        last = event.sequence_number
        if (event.object === "response") {
          responseId = event.id
          ended = Protocol.isTerminalStatus(event.status)
        }
      })
    const go = (stream: Stream.Stream<Protocol.Event, E | E2>): Stream.Stream<Protocol.Event, E | E2> =>
      Stream.tap(stream, seen).pipe(Stream.catchCause((cause) => {
        const failure = Cause.findErrorOption(cause)
        if (failure._tag === "None" || !isDropped(failure.value) || responseId === undefined || ended || failures >= options.retries) {
          return Stream.failCause(cause)
        }
        const wait = Duration.times(options.delay, 2 ** failures)
        failures++
        return Stream.unwrap(Effect.as(Effect.sleep(wait), go(join(responseId, last))))
      }))
    // left before the end (`Stream.take`, an interrupt, retries spent)
    return Stream.onExit(go(start), () => ended ? Effect.void : onLeave(responseId !== undefined))
  })
