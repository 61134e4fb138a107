#!/usr/bin/env -S node --disable-warning=ExperimentalWarning
/** The `agentapp` command (`npx agentapp --help`). */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as NodeServices from "@effect/platform-node/NodeServices"
import { Effect, Runtime } from "effect"
import { main } from "../src/Cli.ts"

main(process.argv.slice(2)).pipe(
  Effect.provide(NodeServices.layer),
  NodeRuntime.runMain({
    disableErrorReporting: true,
    // a command that set the exit code (an app's own, a refused deploy) exits with it
    teardown: (exit, onExit) => typeof process.exitCode === "number" ? onExit(process.exitCode) : Runtime.defaultTeardown(exit, onExit)
  })
)
