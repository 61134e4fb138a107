/**
 * Friday's task workers on their own: the same app as examples/distributed.ts
 * in the "worker" role. It runs the jobs that API replicas enqueue (task
 * routes and /process/task), answers only the health routes, and scales on
 * its own:
 *
 *   REDIS_URL=redis://127.0.0.1:6379 PORT=8091 ROLE=api npm run start:distributed
 *   REDIS_URL=redis://127.0.0.1:6379 PORT=8093 npm run start:worker
 */
import { AgentApp } from "@agentapp/core"
import { Layer } from "effect"
import { Friday, listen, Routes, Toolbox } from "./main.ts"
import { Redis } from "./redis.ts"

export const Main = Friday.serve(Routes, { role: "worker" }).pipe(
  Layer.provide(listen(8093)),
  Layer.provide(Redis),
  Layer.provide(Toolbox.layer)
)

if (AgentApp.isMain(import.meta)) AgentApp.runMain(Main)
