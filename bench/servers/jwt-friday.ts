/** Friday behind bearer JWTs (HMAC, `JWT_SECRET`), for bench 13: the same app and routes as `npm start`. */
import { AgentApp, Auth } from "@agentapp/core"
import { Layer, Redacted } from "effect"
import { Friday, listen, Routes, Toolbox } from "../../examples/main.ts"

const Main = Friday.serve(Routes).pipe(
  Layer.provide(listen(8090)),
  Layer.provide(AgentApp.layerMemory),
  Layer.provide(Auth.layerJwt({ key: Redacted.make(process.env.JWT_SECRET ?? ""), issuer: "bench", audience: "agentapp" })),
  Layer.provide(Toolbox.layer)
)

AgentApp.runMain(Main)
