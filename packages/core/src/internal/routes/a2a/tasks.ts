/**
 * How an A2A message becomes a task: a run of the app's handler in the
 * task's context (its session), kept in the task store as it starts and as
 * it ends, live on this node while it runs, failed when it outlives the
 * task timeout.
 */
import { Deferred, Duration, Effect, Option, Stream } from "effect"
import * as A2a from "../../../A2a.ts"
import type * as Protocol from "../../../Protocol.ts"
import * as Runner from "../../../Runner.ts"
import type { Runs } from "../../run/start.ts"
import { owns } from "../../auth/owner.ts"
import { randomUuid } from "../../util/ids.ts"
import { invalidParams, type RpcError, taskNotFound, unsupported } from "./jsonRpc.ts"
import type { LiveTask, LiveTasks } from "./live.ts"
import type { SendParams } from "./requests.ts"
import { makeTaskEvents } from "./taskEvents.ts"
import { type StreamResponse, toContent } from "./wire.ts"

/** A task found here or in the store, with its owner. */
export interface Found {
  readonly task: A2a.Task
  readonly userId: string
  readonly live: LiveTask | undefined
}

/** A task's record of now. */
export const recordOf = (live: LiveTask): A2a.TaskRecord => ({ task: live.events.task(), userId: live.userId, updatedAt: Date.now() })

export const makeTasks = <E>(
  runs: Runs<E>,
  store: A2a.TaskStore["Service"],
  live: LiveTasks,
  taskTimeout: Duration.Duration
) => {
  const timeoutMessage = `The task timed out after ${Duration.format(taskTimeout)}`
  const timeoutMs = Duration.toMillis(taskTimeout)

  /** A task by id: the live one here, else the store's; with `Auth`, only the caller's. */
  const find = (taskId: string): Effect.Effect<Found | undefined, A2a.TaskStoreError> => {
    const here = live.get(taskId)
    const found: Effect.Effect<Found | undefined, A2a.TaskStoreError> = here !== undefined
      ? Effect.succeed({ task: here.events.task(), userId: here.userId, live: here })
      : Effect.map(store.get(taskId), Option.match({
        onNone: () => undefined,
        onSome: (record) => ({ task: record.task, userId: record.userId, live: undefined })
      }))
    return Effect.flatMap(found, (task) => task === undefined ? Effect.succeed(undefined) : Effect.map(owns(task.userId), (mine) => mine ? task : undefined))
  }

  const save = (task: LiveTask) =>
    store.save(recordOf(task)).pipe(Effect.catchCause((cause) => Effect.logWarning("could not save an A2A task", cause)))

  /**
   * Starts the task a message asks for (a new one, or one that waits for
   * input): its run claims the session now, in the current scope, and the
   * stream gives its responses, a batch per chunk of the run's events.
   */
  const start = Effect.fnUntraced(function*(params: SendParams, onDrain: (() => void) | undefined) {
    const message = params.message
    let contextId = message.contextId
    let userId: string | undefined
    if (message.taskId !== undefined) {
      const known = yield* find(message.taskId)
      if (known === undefined) return yield* Effect.fail<RpcError>(taskNotFound(message.taskId))
      if (A2a.isTerminal(known.task.status.state)) {
        return yield* Effect.fail(unsupported(
          `Task ${message.taskId} is ${known.task.status.state}: a task in a terminal state takes no more messages (send without taskId to start a new task in its context)`
        ))
      }
      if (contextId !== undefined && contextId !== known.task.contextId) {
        return yield* Effect.fail(invalidParams("params.message.contextId is not the context of params.message.taskId"))
      }
      contextId = known.task.contextId
      userId = known.userId
    }
    const sessionId = contextId ?? randomUuid()
    const request: Protocol.AgentRequest = {
      input: [{ type: "message", role: "user", content: message.parts.map(toContent) }],
      session_id: sessionId,
      user_id: userId ?? null
    }
    const run = yield* runs.start(yield* runs.settle(request), onDrain)
    const taskId = message.taskId ?? randomUuid()
    const cancel = run.options.cancel
    const task = live.add({
      taskId,
      contextId: sessionId,
      userId: run.context.userId,
      events: makeTaskEvents(taskId, sessionId, message),
      startedAt: Date.now(),
      stop: () => cancel !== undefined && Deferred.doneUnsafe(cancel, Effect.void)
    })
    if (!store.local) yield* save(task)
    // when the run's scope closes (its request, or its background scope), the task is saved as it ended
    yield* Effect.addFinalizer(() =>
      Effect.suspend(() => {
        // a run cut off before its end (its client left) is canceled, as its session records
        if (!task.events.ended()) task.events.cancel()
        return Effect.andThen(save(task), Effect.sync(() => live.end(task)))
      })
    )
    const responses = Runner.events(run.context, run.outputs, run.options).pipe(
      Stream.mapArray((chunk) => {
        const batch: Array<StreamResponse> = []
        for (const event of chunk) for (const response of task.events.onEvent(event)) batch.push(response)
        live.publish(task, batch)
        return [batch] as const
      })
    )
    return { task, responses }
  })

  /**
   * Stops the tasks that outlive the timeout, and fails them: one fiber for
   * the node, looking a few times per timeout (at most every second), rather
   * than a timer per task.
   */
  const watchTimeouts = Effect.forever(Effect.andThen(
    Effect.sleep(Duration.clamp(Duration.divideUnsafe(taskTimeout, 4), { minimum: Duration.millis(10), maximum: Duration.seconds(1) })),
    Effect.sync(() => {
      const now = Date.now()
      for (const task of live.all()) {
        if (now - task.startedAt >= timeoutMs) {
          task.events.timedOut(timeoutMessage)
          task.stop()
        }
      }
    })
  ))

  return { find, start, watchTimeouts }
}
