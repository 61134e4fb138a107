/**
 * Turns a handler's `Stream` of outputs into the protocol's event sequence:
 * `response created`, `response in_progress`, the message and content
 * lifecycles with gap-free sequence numbers, and exactly one terminal
 * `response` event, always last.
 *
 * @since 0.1.0
 */
import { Effect, Option, Stream } from "effect"
import { eventsPull, type RunOptions } from "./internal/run/eventsPull.ts"
import type { RunContext } from "./internal/run/runState.ts"
import type * as Output from "./Output.ts"
import type * as Protocol from "./Protocol.ts"

export type { Events, RunOptions } from "./internal/run/eventsPull.ts"
export { errorInfo, type RunContext, UNKNOWN_ERROR_CODE } from "./internal/run/runState.ts"

/**
 * Runs the outputs of a handler and numbers them as protocol events. The
 * stream never fails: a handler failure becomes `response failed`, a
 * completed `cancel` becomes `response canceled`.
 *
 * @since 0.1.0
 */
export const events = <E, R>(
  context: RunContext,
  outputs: Stream.Stream<Output.AgentOutput, E, R>,
  options?: RunOptions
): Stream.Stream<Protocol.Event, never, R> =>
  Stream.suspend(() =>
    Stream.transformPull(outputs, (pull, scope) => Effect.succeed(eventsPull(context, pull, scope, options)))
  )

/**
 * Whether a chunk of events ends with the terminal `response` event: the
 * run is over, and no more events follow.
 *
 * @since 0.1.0
 */
export const isComplete = (events: ReadonlyArray<Protocol.Event>): boolean => {
  const last = events[events.length - 1]
  return last !== undefined && last.object === "response" &&
    (last.status === "completed" || last.status === "failed" || last.status === "canceled")
}

/**
 * Runs a request to its end and gives the terminal response event, for
 * `stream: false`.
 *
 * @since 0.1.0
 */
export const finalResponse = <R>(
  events: Stream.Stream<Protocol.Event, never, R>
): Effect.Effect<Protocol.ResponseEvent, never, R> =>
  Effect.map(Stream.runLast(events), (last) => Option.getOrThrow(last) as Protocol.ResponseEvent)

