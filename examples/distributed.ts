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
import { AgentAppRedis } from "@agentapp/redis"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { Layer } from "effect"
import { createServer } from "node:http"
import { Friday, Routes, Toolbox } from "./main.ts"

const port = Number(process.env.PORT ?? 8090)
const host = process.env.HOST ?? "127.0.0.1"

/** `ROLE=api` leaves the tasks to separate workers (examples/worker.ts); the default runs both. */
const role = process.env.ROLE === "api" ? "api" : "both"

export const Main = Friday.serve(Routes, { role }).pipe(
  Layer.provide(NodeHttpServer.layer(createServer, { port, host })),
  Layer.provide(AgentAppRedis.layerConfig), // REDIS_URL, REDIS_PREFIX
  Layer.provide(Toolbox.layer)
)

if (import.meta.main) AgentApp.runMain(Main)
