/**
 * The routes of a query handler: `POST /process`, `POST /stop`,
 * `/process/task` and `/rpc`, each a front door to the same runs, and the
 * readiness checks of the backends they use.
 */
import { Effect, Layer, Option } from "effect"
import { HttpRouter } from "effect/http"
import * as A2a from "../A2a.ts"
import * as Auth from "../Auth.ts"
import * as Health from "../Health.ts"
import * as Interrupt from "../Interrupt.ts"
import * as RunLog from "../RunLog.ts"
import { Lifecycle } from "../Lifecycle.ts"
import * as SessionStore from "../SessionStore.ts"
import * as TaskQueue from "../TaskQueue.ts"
import { KeepAlive } from "./http/keepAlive.ts"
import type { QueryHandler } from "./query.ts"
import { processRoute } from "./routes/process.ts"
import { runEventsRoutes } from "./routes/runEvents.ts"
import { a2aRoutes } from "./routes/a2a/routes.ts"
import { agUiRoute } from "./routes/agUi.ts"
import { openAiRoutes } from "./routes/openai/routes.ts"
import { playgroundRoute } from "./routes/playground.ts"
import { describeQueryRoutes } from "./apiDocs/queryDocs.ts"
import type * as ApiDocs from "../ApiDocs.ts"
import { processTaskRoutes } from "./routes/processTask.ts"
import { rpcRoutes } from "./routes/rpc.ts"
import { stopRoute } from "./routes/stop.ts"
import { makeRuns } from "./run/start.ts"
import type { A2aSettings, Settings } from "./settings.ts"
import type { TaskRegistry } from "./tasks.ts"

// (in the worker role the router drops these routes, and `GET /` does not list them)
export const queryRoutes = <R>(
  settings: Settings,
  handler: QueryHandler<unknown, unknown>
): Layer.Layer<
  never,
  never,
  | HttpRouter.HttpRouter
  | Health.AppInfo
  | Lifecycle
  | KeepAlive
  | TaskRegistry
  | Interrupt.InterruptBackend
  | SessionStore.SessionStore
  | TaskQueue.TaskQueue
  | ApiDocs.Operations
  | R
> =>
  Layer.unwrap(Effect.gen(function*() {
    const lifecycle = yield* Lifecycle
    const keepAlive = yield* KeepAlive
    const backend = yield* Interrupt.InterruptBackend
    const store = yield* SessionStore.SessionStore
    const tasks = yield* TaskQueue.TaskQueue
    const appScope = yield* Effect.scope
    const auth = Option.getOrUndefined(yield* Effect.serviceOption(Auth.Auth))
    // the runs' log: the one provided (Redis shares it between nodes), else this node's memory
    const log = settings.eventLog === false ? undefined : Option.getOrElse(
      yield* Effect.serviceOption(RunLog.RunLog),
      () => RunLog.makeMemory(settings.eventLog as RunLog.Options)
    )
    const runs = yield* makeRuns(settings, handler as QueryHandler<unknown, R>, log)
    return Layer.mergeAll(
      HttpRouter.add("POST", settings.processPath, processRoute(runs, { lifecycle, keepAlive, appScope }, settings.maxBodySize)),
      log === undefined ? Layer.empty : runEventsRoutes(settings.processPath, log, keepAlive),
      Health.register("process", settings.processPath),
      settings.stopPath === false ? Layer.empty : Layer.merge(
        HttpRouter.add("POST", settings.stopPath, stopRoute(backend, settings.maxBodySize)),
        Health.register("stop", settings.stopPath)
      ),
      settings.rpcPath === false ? Layer.empty : rpcRoutes(settings.rpcPath, runs, { lifecycle, backend, tasks, appScope, auth }, settings),
      processTaskRoutes(runs, tasks, settings),
      settings.openAiPath === false ? Layer.empty : openAiRoutes(settings.openAiPath, runs, backend, settings),
      settings.agUiPath === false ? Layer.empty : agUiRoute(settings.agUiPath, runs, settings),
      settings.playgroundPath === false ? Layer.empty : playgroundRoute(settings.playgroundPath, {
        name: settings.name,
        process: settings.processPath,
        stop: settings.stopPath,
        resume: log !== undefined,
        auth: auth !== undefined
      }),
      settings.a2a === false ? Layer.empty : Layer.unwrap(Effect.map(
        // the tasks' store: the one provided (Redis shares it between nodes), else this node's memory
        Effect.serviceOption(A2a.TaskStore),
        (store) => a2aRoutes(settings.a2a as A2aSettings, runs, backend, Option.getOrElse(store, () => A2a.makeMemory()), settings)
      )),
      describeQueryRoutes(settings, log !== undefined),
      Health.readinessCheck("interrupts", backend.check),
      Health.readinessCheck("sessions", store.check),
      Health.readinessCheck("tasks", tasks.check)
    )
  }))
