#!/usr/bin/env -S node --disable-warning=ExperimentalWarning
/** The `agentapp` command (`npx agentapp --help`). */
import * as module from "node:module"

// V8's compiled code is kept on disk between runs: the command starts in about half the CPU
module.enableCompileCache?.()
await import("../src/main.ts")
