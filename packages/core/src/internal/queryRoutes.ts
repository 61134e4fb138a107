/**
 * The routes of a query handler: `POST /process`, `POST /stop`,
 * `/process/task` and `/rpc`, each a front door to the same runs, and the
 * readiness checks of the backends they use.
 */
import { Effect, Layer } from "effect"
import { HttpRouter } from "effect/http"
import * as Health from "../Health.ts"
import * as Interrupt from "../Interrupt.ts"
import { Lifecycle } from "../Lifecycle.ts"
import * as SessionStore from "../SessionStore.ts"
import * as TaskQueue from "../TaskQueue.ts"
import { KeepAlive } from "./http/keepAlive.ts"
import type { QueryHandler } from "./query.ts"
import { processRoute } from "./routes/process.ts"
import { agUiRoute } from "./routes/agUi.ts"
import { openAiRoutes } from "./routes/openai/routes.ts"
import { processTaskRoutes } from "./routes/processTask.ts"
import { rpcRoutes } from "./routes/rpc.ts"
import { stopRoute } from "./routes/stop.ts"
import { makeRuns } from "./run/start.ts"
import type { Settings } from "./settings.ts"
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
  | R
> =>
  Layer.unwrap(Effect.gen(function*() {
    const lifecycle = yield* Lifecycle
    const keepAlive = yield* KeepAlive
    const backend = yield* Interrupt.InterruptBackend
    const store = yield* SessionStore.SessionStore
    const tasks = yield* TaskQueue.TaskQueue
    const runs = yield* makeRuns(settings, handler as QueryHandler<unknown, R>)
    return Layer.mergeAll(
      HttpRouter.add("POST", settings.processPath, processRoute(runs, { lifecycle, keepAlive }, settings.maxBodySize)),
      Health.register("process", settings.processPath),
      settings.stopPath === false ? Layer.empty : Layer.merge(
        HttpRouter.add("POST", settings.stopPath, stopRoute(backend, settings.maxBodySize)),
        Health.register("stop", settings.stopPath)
      ),
      settings.rpcPath === false ? Layer.empty : rpcRoutes(settings.rpcPath, runs, { lifecycle, backend, tasks }, settings),
      processTaskRoutes(runs, tasks, settings),
      settings.openAiPath === false ? Layer.empty : openAiRoutes(settings.openAiPath, runs, backend, settings),
      settings.agUiPath === false ? Layer.empty : agUiRoute(settings.agUiPath, runs, settings),
      Health.readinessCheck("interrupts", backend.check),
      Health.readinessCheck("sessions", store.check),
      Health.readinessCheck("tasks", tasks.check)
    )
  }))
