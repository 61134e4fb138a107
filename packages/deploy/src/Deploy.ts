/**
 * Deploying an app on this machine, the counterpart of the original's
 * `app.deploy(LocalDeployManager(host, port))`: `local` starts the app
 * detached (its own process group, its logs to a file), waits until it is
 * ready, and records it, so that `list`, `find` and `stop` (and the
 * `agentapp` CLI) find it again from any shell.
 *
 * @example
 * ```ts
 * const deployment = yield* Deploy.local({ entry: "examples/main.ts", port: 8090 })
 * console.log(deployment.url)
 * yield* deployment.stop
 * ```
 *
 * @since 0.1.0
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as net from "node:net"
import * as path from "node:path"
import { nameOf } from "./internal/bundle.ts"
import { DeployError } from "./internal/errors.ts"
import * as State from "./internal/state.ts"

export { DeployError } from "./internal/errors.ts"
export type { Deployment } from "./internal/state.ts"

/**
 * The Node.js flags an app runs with in production: no allocation-site
 * pretenuring (V8 would move a streaming server's short-lived objects to the
 * old generation; bench/RESULTS.md).
 *
 * @since 0.1.0
 */
export const runtimeFlags: ReadonlyArray<string> = ["--no-allocation-site-pretenuring"]

/**
 * The flags an app runs with from its sources: {@link runtimeFlags}, and no
 * experimental warning for the TypeScript it runs.
 *
 * @since 0.1.0
 */
export const nodeFlags: ReadonlyArray<string> = ["--disable-warning=ExperimentalWarning", ...runtimeFlags]

/**
 * The app's entry: the one given, else the one the project's `package.json`
 * names (`"agentapp": { "entry": ... }`), else `examples/main.ts`.
 *
 * @since 0.1.0
 */
export const entryOf = (entry: string | undefined, cwd: string = process.cwd()): Effect.Effect<string, DeployError> =>
  Effect.suspend(() => {
    let chosen = entry
    if (chosen === undefined) {
      const manifest = path.join(cwd, "package.json")
      const named = fs.existsSync(manifest)
        ? (JSON.parse(fs.readFileSync(manifest, "utf8")) as { agentapp?: { entry?: string } }).agentapp?.entry
        : undefined
      chosen = named ?? "examples/main.ts"
    }
    const resolved = path.resolve(cwd, chosen)
    return fs.existsSync(resolved)
      ? Effect.succeed(resolved)
      : Effect.fail(new DeployError({ message: `No app at ${chosen}: give the entry file (agentapp deploy local path/to/app.ts)` }))
  })

/**
 * What `local` takes.
 *
 * @since 0.1.0
 */
export interface LocalOptions {
  /** Default as {@link entryOf} says. */
  readonly entry?: string | undefined
  /** Default 8090. */
  readonly port?: number | undefined
  /** Default 127.0.0.1. */
  readonly host?: string | undefined
  /** Default the entry's file name without its extension. */
  readonly name?: string | undefined
  /** How long to wait for `/readiness`. Default 30 s. */
  readonly timeout?: Duration.Input | undefined
  /** Told once the process has started, while readiness is awaited. */
  readonly onProgress?: ((line: string) => void) | undefined
}

/**
 * A running deployment, and the Effect that stops it.
 *
 * @since 0.1.0
 */
export interface LocalDeployment extends State.Deployment {
  readonly stop: Effect.Effect<void, DeployError>
}

const portInUse = (host: string, port: number) =>
  Effect.callback<boolean>((resume) => {
    const probe = net.createServer()
    probe.once("error", (error: NodeJS.ErrnoException) => resume(Effect.succeed(error.code === "EADDRINUSE" || error.code === "EACCES")))
    probe.listen(port, host, () => probe.close(() => resume(Effect.succeed(false))))
  })

/** The last lines of a log, to say why an app did not start. */
const tail = (file: string, lines = 20) => {
  try {
    return fs.readFileSync(file, "utf8").trimEnd().split("\n").slice(-lines).join("\n")
  } catch {
    return "(no log)"
  }
}

const ready = (url: string) =>
  Effect.promise(() =>
    fetch(`${url}/readiness`, { signal: AbortSignal.timeout(1_000) }).then((reply) => reply.status === 200, () => false)
  )

const hostForUrl = (host: string) => host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host.includes(":") ? `[${host}]` : host

/**
 * Stops a deployment: SIGTERM to its process group, which drains its runs
 * (the app's grace period), then SIGKILL if it has not exited after
 * `grace`; its entry is removed.
 *
 * @since 0.1.0
 */
export const stopDeployment = (deployment: State.Deployment, grace: Duration.Input = Duration.seconds(30)) =>
  Effect.gen(function*() {
    const signal = (name: NodeJS.Signals) => {
      try {
        process.kill(-deployment.pid, name)
      } catch {
        // gone already
      }
    }
    signal("SIGTERM")
    const deadline = Date.now() + Duration.toMillis(Duration.fromInputUnsafe(grace))
    while (State.isAlive(deployment.pid) && Date.now() < deadline) yield* Effect.sleep("50 millis")
    if (State.isAlive(deployment.pid)) signal("SIGKILL")
    yield* State.remove(deployment.name)
  })

/**
 * Starts the app detached, waits until `/readiness` answers 200, and records
 * it. Fails, saying why, when the name is running already, the port is in
 * use, or the app exits or is not ready in time (with its log's tail).
 *
 * @since 0.1.0
 */
export const local = (options: LocalOptions = {}): Effect.Effect<LocalDeployment, DeployError> =>
  Effect.gen(function*() {
    const entry = yield* entryOf(options.entry)
    const host = options.host ?? "127.0.0.1"
    const port = options.port ?? 8090
    const name = options.name ?? nameOf(entry)
    const running = (yield* State.live).find((deployment) => deployment.name === name)
    if (running !== undefined) {
      return yield* new DeployError({ message: `${name} is already running at ${running.url} (pid ${running.pid}): agentapp stop ${name} first` })
    }
    if (yield* portInUse(host, port)) {
      return yield* new DeployError({ message: `Port ${port} on ${host} is in use: choose another with --port` })
    }
    const log = path.join(State.home(), "logs", `${name}.log`)
    const child = yield* Effect.try({
      try: () => {
        fs.mkdirSync(path.dirname(log), { recursive: true })
        const out = fs.openSync(log, "a")
        const started = spawn(process.execPath, [...nodeFlags, entry], {
          cwd: process.cwd(),
          detached: true,
          stdio: ["ignore", out, out],
          env: { ...process.env, PORT: String(port), HOST: host }
        })
        fs.closeSync(out)
        started.unref()
        return started
      },
      catch: (cause) => new DeployError({ message: `Cannot start ${entry}: ${(cause as Error).message}` })
    })
    const deployment: State.Deployment = {
      name,
      entry,
      url: `http://${hostForUrl(host)}:${port}`,
      host,
      port,
      pid: child.pid!,
      log,
      startedAt: new Date().toISOString()
    }
    yield* State.add(deployment)
    options.onProgress?.(`Started ${name} (pid ${deployment.pid}), waiting for ${deployment.url}/readiness`)
    const deadline = Date.now() + Duration.toMillis(Duration.fromInputUnsafe(options.timeout ?? Duration.seconds(30)))
    while (!(yield* ready(deployment.url))) {
      const exited = !State.isAlive(deployment.pid)
      if (exited || Date.now() >= deadline) {
        yield* stopDeployment(deployment, Duration.seconds(5))
        return yield* new DeployError({
          message: `${name} ${exited ? "exited" : "was not ready in time"}; the end of ${log}:\n${tail(log)}`
        })
      }
      yield* Effect.sleep("10 millis")
    }
    return { ...deployment, stop: stopDeployment(deployment) }
  })

/**
 * The deployments running now (the entries of those that died are removed).
 *
 * @since 0.1.0
 */
export const list: Effect.Effect<ReadonlyArray<State.Deployment>, DeployError> = State.live

/**
 * The deployment named, or the only one.
 *
 * @since 0.1.0
 */
export const find: (name: string | undefined) => Effect.Effect<State.Deployment, DeployError> = State.find
