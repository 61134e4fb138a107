/** Runs the `agentapp` command on the process's arguments (bin/agentapp.ts loads it once the compile cache is on). */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as NodeServices from "@effect/platform-node/NodeServices"
import * as Effect from "effect/Effect"
import * as Runtime from "effect/Runtime"
import { main } from "./Cli.ts"

main(process.argv.slice(2)).pipe(
  Effect.provide(NodeServices.layer),
  NodeRuntime.runMain({
    disableErrorReporting: true,
    // a command that set the exit code (an app's own, a refused deploy) exits with it
    teardown: (exit, onExit) => typeof process.exitCode === "number" ? onExit(process.exitCode) : Runtime.defaultTeardown(exit, onExit)
  })
)
