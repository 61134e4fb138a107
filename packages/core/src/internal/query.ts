/** What a query handler is given and gives (re-exported by `AgentApp`). */
import type { Effect, Scope, Stream } from "effect"
import type { SessionKey } from "../Interrupt.ts"
import type * as Output from "../Output.ts"
import type * as Protocol from "../Protocol.ts"
import type { RunContext } from "./run/runState.ts"

/**
 * What a query handler knows about its run: the decoded request, and the
 * ids the server settled before the run started.
 *
 * @since 0.1.0
 */
export interface QueryContext extends RunContext {
  /** The session, for `SessionStore.load` / `SessionStore.save` and `stopChat`. */
  readonly key: SessionKey
  /** The earlier turns of this session, oldest first (empty when history is off). */
  readonly history: ReadonlyArray<Protocol.Message>
}

/**
 * A query handler: the request in, a Stream of outputs out (or an Effect that
 * gives one).
 *
 * @since 0.1.0
 */
export type QueryHandler<E, R> = (
  request: Protocol.AgentRequest,
  context: QueryContext
) => Stream.Stream<Output.AgentOutput, E, R> | Effect.Effect<Stream.Stream<Output.AgentOutput, E, R>, E, R>

/**
 * What a query handler's result requires, whichever mix of Streams and
 * Effects its branches return. `Scope` is not among them: a run has a scope
 * of its own (its request's, or its job's), closed when the run ends.
 *
 * @since 0.1.0
 */
export type HandlerServices<Result> = Exclude<
  Result extends Stream.Stream<Output.AgentOutput, infer _E, infer R> ? R
    : Result extends Effect.Effect<Stream.Stream<Output.AgentOutput, infer _E1, infer R1>, infer _E2, infer R2> ? R1 | R2
    : never,
  Scope.Scope
>
