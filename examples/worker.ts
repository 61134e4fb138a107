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
import { AgentAppRedis } from "@agentapp/redis"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { Layer } from "effect"
import { createServer } from "node:http"
import { Friday, Routes, Toolbox } from "./main.ts"

const port = Number(process.env.PORT ?? 8093)
const host = process.env.HOST ?? "127.0.0.1"

export const Main = Friday.serve(Routes, { role: "worker" }).pipe(
  Layer.provide(NodeHttpServer.layer(createServer, { port, host })),
  Layer.provide(AgentAppRedis.layerConfig),
  Layer.provide(Toolbox.layer)
)

if (import.meta.main) AgentApp.runMain(Main)
