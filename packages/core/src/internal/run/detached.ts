/**
 * A run that outlives its request (`background`, `on_disconnect: "continue"`):
 * it holds its session in a scope of its own, under the app's, closed when
 * the run ends; its events go to the run log, where clients follow them.
 */
import { Effect, Exit, Scope, Stream } from "effect"
import type * as Protocol from "../../Protocol.ts"
import type { Run, Runs } from "./start.ts"

/** Whether a request's run goes on without its client. */
export const outlivesClient = (request: Protocol.AgentRequest): boolean =>
  request.background === true || request.on_disconnect === "continue"

export const startDetached = <E>(runs: Runs<E>, appScope: Scope.Scope, request: Protocol.AgentRequest) =>
  Effect.gen(function*() {
    const scope = yield* Scope.fork(appScope)
    const run: Run<E> = yield* Scope.provide(runs.start(request, undefined), scope).pipe(
      Effect.onError((cause) => Scope.close(scope, Exit.failCause(cause)))
    )
    yield* Effect.forkIn(Effect.ensuring(Stream.runDrain(runs.events(run)), Scope.close(scope, Exit.void)), appScope)
    return run
  })

/** A run log's chunks of SSE text as the events they carry (frames end with a blank line, which JSON never holds). */
export const eventsOfFrames = (text: string): Array<Protocol.Event> => {
  const events: Array<Protocol.Event> = []
  let start = 0
  while (start < text.length) {
    const end = text.indexOf("\n\n", start)
    const frame = text.slice(start, end + 2)
    events.push(JSON.parse(frame.slice(frame.indexOf("\ndata: ") + 7, frame.length - 2)) as Protocol.Event)
    start = end + 2
  }
  return events
}
