/** Running an app as the main program: the Node.js version check, `isMain` and `runMain`. */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Cause, Exit, Layer } from "effect"
import * as Runtime from "effect/Runtime"
import { realpathSync } from "node:fs"
import { pathToFileURL } from "node:url"

/**
 * The oldest Node.js agentapp runs on (type stripping, `import.meta.main`,
 * and what Effect 4 needs).
 *
 * @since 0.1.0
 */
export const minimumNodeVersion = "22.18.0"

const olderThan = (version: string, minimum: string): boolean => {
  const [a, b] = [version, minimum].map((v) => v.split(".").map(Number))
  for (let i = 0; i < 3; i++) if (a[i] !== b[i]) return (a[i] ?? 0) < (b[i] ?? 0)
  return false
}

/**
 * Whether the module of `meta` (`import.meta`) is the program Node was
 * started with: `import.meta.main` where Node has it, else the entry path
 * compared with the module's (so that an entry never exits silently on an
 * older Node, where `import.meta.main` is undefined).
 *
 * @example
 * ```ts
 * if (AgentApp.isMain(import.meta)) AgentApp.runMain(Main)
 * ```
 *
 * @since 0.1.0
 */
export const isMain = (meta: { readonly main?: boolean | undefined; readonly url: string }): boolean => {
  if (typeof meta.main === "boolean") return meta.main
  const entry = process.argv[1]
  if (entry === undefined) return false
  try {
    return pathToFileURL(realpathSync(entry)).href === meta.url
  } catch {
    return false
  }
}

/**
 * Runs a server layer as the main program: SIGTERM or SIGINT begins a
 * graceful shutdown, and the process exits 0 once it is done (1 when the
 * program failed, for example when the port is taken). On a Node.js older
 * than {@link minimumNodeVersion} it says so and exits 1 without starting.
 *
 * @since 0.1.0
 */
export const runMain = <E>(layer: Layer.Layer<never, E, never>): void => {
  if (olderThan(process.versions.node, minimumNodeVersion)) {
    console.error(
      `agentapp needs Node.js ${minimumNodeVersion} or newer; this is ${process.version}. ` +
        "Run it through npm (the project brings its own Node 22) or install a newer Node.js."
    )
    process.exitCode = 1
    return
  }
  Layer.launch(layer).pipe(NodeRuntime.runMain({
    teardown: (exit, onExit) =>
      Exit.isFailure(exit) && !Cause.hasInterruptsOnly(exit.cause)
        ? Runtime.defaultTeardown(exit, onExit)
        : onExit(0)
  }))
}
