/**
 * The tasks running on this node, so that a subscriber joins a task's events
 * as they happen and a read sees the task so far (the store has it as of its
 * start and its end).
 */
import { Deferred, Effect, Queue, Stream } from "effect"
import type { TaskEvents } from "./taskEvents.ts"
import type { StreamResponse } from "./wire.ts"

/** A task running here: its fold, who listens, and whether it has ended. */
export interface LiveTask {
  readonly taskId: string
  readonly contextId: string
  readonly userId: string
  readonly events: TaskEvents
  /** When its run started (unix ms), for the task timeout. */
  readonly startedAt: number
  /** Stops its run, the way a stop does. */
  readonly stop: () => void
  readonly listeners: Set<(response: StreamResponse | undefined) => void>
  readonly ended: Deferred.Deferred<void>
}

export const makeLiveTasks = () => {
  const tasks = new Map<string, LiveTask>()
  return {
    get: (taskId: string): LiveTask | undefined => tasks.get(taskId),
    all: (): Iterable<LiveTask> => tasks.values(),
    add: (task: Omit<LiveTask, "listeners" | "ended">): LiveTask => {
      const live = { ...task, listeners: new Set<(response: StreamResponse | undefined) => void>(), ended: Deferred.makeUnsafe<void>() }
      tasks.set(task.taskId, live)
      return live
    },
    publish: (live: LiveTask, responses: ReadonlyArray<StreamResponse>): void => {
      for (const listener of live.listeners) for (const response of responses) listener(response)
    },
    /** The task has ended: its listeners' streams end, and it is no longer live here. */
    end: (live: LiveTask): void => {
      if (tasks.get(live.taskId) === live) tasks.delete(live.taskId)
      for (const listener of live.listeners) listener(undefined)
      live.listeners.clear()
      Deferred.doneUnsafe(live.ended, Effect.void)
    },
    /** The task so far, then each of its stream responses until it ends. */
    follow: (live: LiveTask): Stream.Stream<StreamResponse> =>
      Stream.callback<StreamResponse>((queue) =>
        Effect.acquireRelease(
          Effect.sync(() => {
            const listener = (response: StreamResponse | undefined) =>
              response === undefined ? Queue.endUnsafe(queue) : Queue.offerUnsafe(queue, response)
            Queue.offerUnsafe(queue, { task: live.events.task() })
            if (tasks.get(live.taskId) === live) live.listeners.add(listener)
            else Queue.endUnsafe(queue)
            return listener
          }),
          (listener) => Effect.sync(() => live.listeners.delete(listener))
        )
      )
  }
}

export type LiveTasks = ReturnType<typeof makeLiveTasks>
