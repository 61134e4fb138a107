/**
 * Friday on several nodes: the same app as examples/main.ts, with interrupts,
 * session leases and session history on Redis, so that a stop sent to any
 * replica stops the run wherever it is, and a session moves freely between
 * replicas.
 *
 *   REDIS_URL=redis://127.0.0.1:6379 PORT=8091 npm run start:distributed
 *   REDIS_URL=redis://127.0.0.1:6379 PORT=8092 npm run start:distributed
 */
import { AgentApp } from "@agentapp/core"
import { Config, Layer } from "effect"
import { Friday, FridayAuth, listen, Routes, setting, Toolbox } from "./main.ts"
import { Redis } from "./redis.ts"

/** `ROLE=api` leaves the tasks to separate workers (examples/worker.ts); the default runs both. */
const role = setting(Config.Literals(["api", "both"] as const, "ROLE").pipe(Config.withDefault("both" as const)))

export const Main = Friday.serve(Routes, { role }).pipe(
  Layer.provide(listen(8090)),
  Layer.provide(Redis), // REDIS_URL, REDIS_PREFIX
  Layer.provide(FridayAuth), // API_KEYS
  Layer.provide(Toolbox.layer)
)

if (AgentApp.isMain(import.meta)) AgentApp.runMain(Main)
