/**
 * How a request becomes a run, the same for every front door (`/process`,
 * `/process/task`, `/rpc`): its ids settled, its session claimed, its history
 * read, its handler's outputs ready, and what it records when it ends.
 */
import { Effect, Option, type Scope, Stream } from "effect"
import * as Auth from "../../Auth.ts"
import * as Interrupt from "../../Interrupt.ts"
import { Lifecycle } from "../../Lifecycle.ts"
import type * as Output from "../../Output.ts"
import type * as Protocol from "../../Protocol.ts"
import * as Runner from "../../Runner.ts"
import * as SessionStore from "../../SessionStore.ts"
import type { QueryContext, QueryHandler } from "../query.ts"
import type * as RunLog from "../../RunLog.ts"
import type { Settings } from "../settings.ts"
import { actingUser } from "../auth/owner.ts"
import { observed, observeRun } from "../telemetry/observe.ts"
import { laterThisTurn } from "../util/laterThisTurn.ts"
import { extension, handlerServices, missingServices, provideContextCached } from "../util/provideContext.ts"
import { prefixedId, randomUuid } from "../util/ids.ts"

/** A run whose session is claimed, ready to start: what `Runner.events` or the SSE reply runs. */
export interface Run<E> {
  readonly context: QueryContext
  readonly outputs: Stream.Stream<Output.AgentOutput, E>
  readonly options: Runner.RunOptions
}

/** What starts runs of one query handler. */
export interface Runs<E> {
  /**
   * The request with its ids settled: a session id (new when absent) and
   * `user_id` defaulting to it, or the caller's with `Auth` (403 for another's).
   */
  readonly settle: (request: Protocol.AgentRequest) => Effect.Effect<Protocol.AgentRequest, Auth.Forbidden>
  /**
   * Claims the session and gives the run; the claim lasts as long as the
   * current scope (the HTTP request, or the job). `turn` makes the history
   * idempotent (a retried job starts its turn, and appends its reply, once).
   */
  readonly start: (
    request: Protocol.AgentRequest,
    onDrain: (() => void) | undefined,
    turn?: string | undefined
  ) => Effect.Effect<
    Run<E>,
    Interrupt.SessionBusy | Interrupt.TooManyRuns | Interrupt.InterruptBackendError | SessionStore.SessionStoreError | RunLog.DuplicateRun,
    Scope.Scope
  >
  /** The protocol events of a run. */
  readonly events: (run: Run<E>) => Stream.Stream<Protocol.Event>
  /** Where runs log their events, unless the app turned the log off. */
  readonly log: RunLog.RunLog["Service"] | undefined
}

/** Whether a request's run goes on without its client (`background`, `on_disconnect: "continue"`). */
export const outlivesClient = (request: Protocol.AgentRequest): boolean =>
  request.background === true || request.on_disconnect === "continue"

/**
 * The key of a session a request names: `user_id` defaults to the session
 * id, as in the original; with `Auth` it is the caller's (403 for another's).
 */
export const sessionKey = (sessionId: string, userId: string | null | undefined): Effect.Effect<Interrupt.SessionKey, Auth.Forbidden> =>
  Effect.map(actingUser(userId, sessionId), (user) => Interrupt.makeSessionKey(user, sessionId))

const stateOf = (status: Protocol.RunStatus): Exclude<Interrupt.RunState, "RUNNING"> =>
  status === "completed" ? "FINISHED" : status === "failed" ? "ERROR" : "STOPPED"

/** The completed messages of a response, as history messages (without their event fields). */
const toHistory = (output: ReadonlyArray<Protocol.MessageEvent>): Array<Protocol.Message> =>
  output.filter((message) => message.status === "completed").map((message) => ({
    id: message.id,
    type: message.type,
    role: message.role,
    content: (message.content ?? []).map(
      ({ sequence_number: _s, object: _o, status: _st, error: _e, index: _i, delta: _d, msg_id: _m, ...part }) =>
        part as Protocol.Content
    ),
    ...(message.metadata === null ? {} : { metadata: message.metadata }),
    ...(message.usage === null ? {} : { usage: message.usage })
  }))

/**
 * A decoded message with arrays of its exact length: Schema's decoding builds
 * arrays by pushing, which leaves a one-part array room for 17, and a run
 * keeps its request for its whole life.
 */
const compactMessage = (message: Protocol.Message): Protocol.Message =>
  message.content == null ? message : { ...message, content: message.content.slice() }

/**
 * The run starter of `handler`, built once per app in the current scope (its
 * lease renewals live as long as it).
 */
export const makeRuns = <E, R>(
  settings: Settings,
  handler: QueryHandler<E, R>,
  log: RunLog.RunLog["Service"] | undefined
): Effect.Effect<
  Runs<E>,
  never,
  R | Lifecycle | Interrupt.InterruptBackend | SessionStore.SessionStore | Scope.Scope
> =>
  Effect.gen(function*() {
    const lifecycle = yield* Lifecycle
    const store = yield* SessionStore.SessionStore
    const claims = yield* Interrupt.Claims.make
    const missingIn = missingServices(handlerServices(yield* Effect.context<R>()))
    const authenticated = Option.isSome(yield* Effect.serviceOption(Auth.Auth))

    const record = (key: Interrupt.SessionKey, claim: Interrupt.Claim, turn: string | undefined) =>
    (response: Protocol.ResponseEvent) =>
      Effect.andThen(
        settings.history
          ? store.appendHistory(key, toHistory(response.output), turn).pipe(
            Effect.catchCause((cause) => Effect.logWarning("could not append to the session history", cause))
          )
          : Effect.void,
        claim.finish(stateOf(response.status))
      )

    const start = Effect.fnUntraced(function*(
      request: Protocol.AgentRequest,
      onDrain: (() => void) | undefined,
      turn?: string
    ) {
      // the requests read in one turn of the event loop all start before any run works, so that
      // a stop among them is handled before the runs' work rather than after it
      yield* laterThisTurn
      const key = Interrupt.makeSessionKey(request.user_id!, request.session_id!)
      const claim = yield* claims.claim(key, settings.claim)
      const responseId = request.id ?? prefixedId("response")
      // before the turn starts: a client's id that another run holds is refused with no turn in the history
      const writer = log === undefined ? undefined : yield* log.open({
        responseId,
        sessionId: key.sessionId,
        userId: key.userId,
        runId: claim.runId
      }, {
        // a fresh id needs no check; but a run that outlives its client is followed at once, from its log
        fresh: request.id == null && !outlivesClient(request)
      }).pipe(Effect.catchTag("RunLogError", (error) => Effect.as(Effect.logWarning("could not open the run's event log", error), undefined)))
      const history = settings.history ? yield* store.startTurn(key, request.input, turn) : []
      const context: QueryContext = {
        request,
        responseId,
        sessionId: key.sessionId,
        userId: key.userId,
        key,
        history
      }
      const handlerOutputs = Stream.suspend(() => {
        const result = handler(request, context)
        return Stream.isStream(result) ? result : Stream.unwrap(result)
      })
      const missing = missingIn(yield* Effect.context<never>())
      yield* lifecycle.enter({ onDrain, cancel: claim.stopped })
      const options = { cancel: claim.stopped, onEnd: record(key, claim, turn), onEvents: writer?.append }
      // observed when the request's tracer sends spans somewhere (Telemetry.layer with an endpoint)
      const observing = yield* observed
      const observation = observing === "off" ? undefined : yield* observeRun(context, observing === "traced")
      // with nothing missing and no span, the fiber that runs the stream has every service it requires
      const outputs = missing === undefined && observation?.span === undefined
        ? handlerOutputs as Stream.Stream<Output.AgentOutput, E>
        : provideContextCached(handlerOutputs, extension(missing, observation?.span))
      return { context, outputs, options: observation === undefined ? options : observation.options(options) } satisfies Run<E>
    })

    return {
      settle: (request) => {
        const sessionId = request.session_id ?? randomUuid()
        const settled = (userId: string): Protocol.AgentRequest => ({
          ...request,
          input: request.input.map(compactMessage),
          session_id: sessionId,
          user_id: userId
        })
        // without Auth a request acts as the user it names: no principal to read on the hot path
        return authenticated ? Effect.map(actingUser(request.user_id, sessionId), settled) : Effect.succeed(settled(request.user_id ?? sessionId))
      },
      start,
      log,
      events: (run) => Runner.events(run.context, run.outputs, run.options)
    }
  })
