/**
 * The `agentapp` command: run an app, bundle it, deploy it on this machine
 * and manage what runs (`list`, `status`, `logs`, `stop`). Built with
 * `effect/cli`, so that commands, flags and `--help` are typed.
 *
 * @since 0.1.0
 */
import * as Config from "effect/Config"
import * as Console from "effect/Console"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Argument from "effect/cli/Argument"
import * as Command from "effect/cli/Command"
import * as Flag from "effect/cli/Flag"
import { spawn, spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import * as readline from "node:readline"
import * as Deploy from "./Deploy.ts"
import * as Kubernetes from "./Kubernetes.ts"
import { bundle, compileCacheOf, nameOf, writeCompileCache } from "./internal/bundle.ts"
import { DeployError } from "./internal/errors.ts"
import * as Talk from "./internal/talk.ts"

const entry = Argument.String("entry").pipe(
  Argument.withDescription("The app's entry file (default: package.json's agentapp.entry, else examples/main.ts)"),
  Argument.optional
)
const name = Argument.String("name").pipe(
  Argument.withDescription("The deployment (default: the only one running)"),
  Argument.optional
)
const orUndefined = <A>(option: Option.Option<A>) => Option.getOrUndefined(option)

/** Runs the app in the foreground with the recommended Node.js flags; a signal to the CLI goes to the app. */
const run = Command.make("run", { entry }, ({ entry }) =>
  Effect.gen(function*() {
    const file = yield* Deploy.entryOf(orUndefined(entry))
    yield* Effect.callback<void>((resume) => {
      const child = spawn(process.execPath, [...Deploy.nodeFlags, file], { stdio: "inherit" })
      const forward = (signal: NodeJS.Signals) => child.kill(signal)
      process.on("SIGINT", forward).on("SIGTERM", forward)
      const exited = new Promise<void>((done) =>
        child.once("exit", (exitCode, signal) => {
          process.off("SIGINT", forward).off("SIGTERM", forward)
          // the CLI exits as the app did (bin/agentapp.ts keeps this code)
          process.exitCode = exitCode ?? (signal === null ? 0 : 1)
          done()
        })
      )
      exited.then(() => resume(Effect.void))
      // interrupted by a signal: the app has it too, and drains; the CLI waits for it
      return Effect.promise(() => exited)
    })
  })).pipe(Command.withDescription("Run an app in the foreground"))

/** The production bundle: one ESM file with everything but Node.js itself. */
const build = Command.make("build", {
  entry,
  out: Flag.String("out").pipe(Flag.withDescription("The bundle's path (default dist/<entry name>.mjs)"), Flag.optional)
}, ({ entry, out }) =>
  Effect.gen(function*() {
    const file = yield* Deploy.entryOf(orUndefined(entry))
    const outfile = orUndefined(out) ?? path.join("dist", `${nameOf(file)}.mjs`)
    yield* Effect.tryPromise({
      try: () => bundle(file, outfile),
      catch: (cause) => new DeployError({ message: `The bundle failed: ${(cause as Error).message}` })
    })
    const cache = compileCacheOf(outfile)
    if (!writeCompileCache(outfile, Deploy.runtimeFlags)) {
      yield* Console.error(`Could not write V8's compile cache of ${outfile}: it will start without it`)
    }
    yield* Console.log(`Wrote ${outfile} and its compile cache ${cache}; run it with: NODE_COMPILE_CACHE=${cache} node ${Deploy.runtimeFlags.join(" ")} ${outfile}`)
  })).pipe(Command.withDescription("Bundle an app for production (one .mjs file, and V8's compile cache of it beside it)"))

const local = Command.make("local", {
  entry,
  port: Flag.Int("port").pipe(Flag.withDescription("Port to listen on"), Flag.withDefault(8090)),
  host: Flag.String("host").pipe(Flag.withDescription("Host to listen on"), Flag.withDefault("127.0.0.1")),
  name: Flag.String("name").pipe(Flag.withDescription("The deployment's name (default: the entry's file name)"), Flag.optional),
  timeout: Flag.Int("timeout").pipe(Flag.withDescription("Seconds to wait for readiness"), Flag.withDefault(30))
}, (options) =>
  Effect.gen(function*() {
    const deployment = yield* Deploy.local({
      entry: orUndefined(options.entry),
      port: options.port,
      host: options.host,
      name: orUndefined(options.name),
      timeout: Duration.seconds(options.timeout),
      onProgress: (line) => console.log(line)
    })
    yield* Console.log(`${deployment.name} is ready at ${deployment.url} (logs: ${deployment.log})`)
  })).pipe(Command.withDescription("Start an app in the background on this machine, and wait until it is ready"))

const kubernetes = Command.make("kubernetes", {
  entry,
  image: Flag.String("image").pipe(Flag.withDescription("The image the cluster pulls (registry/name:tag)")),
  replicas: Flag.Int("replicas").pipe(Flag.withDescription("API replicas (the autoscaler goes up to three times as many)"), Flag.withDefault(2)),
  out: Flag.String("out").pipe(Flag.withDescription("Folder to write the Dockerfile and k8s/ into"), Flag.withDefault(".")),
  name: Flag.String("name").pipe(Flag.withDescription("The app's name in the cluster (default: the entry's file name)"), Flag.optional),
  port: Flag.Int("port").pipe(Flag.withDescription("Port the app listens on"), Flag.withDefault(8090)),
  grace: Flag.Int("grace").pipe(Flag.withDescription("The app's shutdownGracePeriod, in seconds"), Flag.withDefault(10)),
  cpu: Flag.String("cpu").pipe(Flag.withDescription("CPU limit per pod"), Flag.withDefault("1")),
  memory: Flag.String("memory").pipe(Flag.withDescription("Memory limit per pod"), Flag.withDefault("512Mi")),
  redisSecret: Flag.String("redis-secret").pipe(Flag.withDescription("A Secret with the Redis URL under `url`: Redis backends and a worker Deployment"), Flag.optional),
  redisUrl: Flag.Redacted("redis-url").pipe(Flag.withDescription("The Redis URL: prints the kubectl command that stores it in a Secret (never written to a file)"), Flag.optional),
  workerEntry: Flag.String("worker-entry").pipe(Flag.withDescription("The workers' entry, with Redis"), Flag.withDefault("examples/worker.ts")),
  dryRun: Flag.Boolean("dry-run").pipe(Flag.withDescription("Print the files instead of writing them"), Flag.withDefault(false)),
  apply: Flag.Boolean("apply").pipe(Flag.withDescription("Run kubectl apply on the manifests"), Flag.withDefault(false))
}, (options) =>
  Effect.gen(function*() {
    const file = yield* Deploy.entryOf(orUndefined(options.entry))
    const name = orUndefined(options.name) ?? nameOf(file)
    const redisUrl = orUndefined(options.redisUrl)
    const redisSecret = orUndefined(options.redisSecret) ?? (redisUrl === undefined ? undefined : `${name}-redis`)
    const files = Kubernetes.files({
      entry: path.relative(process.cwd(), file),
      image: options.image,
      name,
      replicas: options.replicas,
      port: options.port,
      grace: options.grace,
      cpu: options.cpu,
      memory: options.memory,
      redisSecret,
      workerEntry: options.workerEntry
    })
    if (options.dryRun) {
      for (const { content, path: filePath } of files) yield* Console.log(`# ${filePath}\n${content}`)
      return
    }
    yield* Effect.try({
      try: () => {
        for (const { content, path: filePath } of files) {
          const target = path.join(options.out, filePath)
          fs.mkdirSync(path.dirname(target), { recursive: true })
          fs.writeFileSync(target, content)
        }
      },
      catch: (cause) => new DeployError({ message: `Cannot write into ${options.out}: ${(cause as Error).message}` })
    })
    yield* Console.log(`Wrote ${files.map((file) => path.join(options.out, file.path)).join(", ")}`)
    if (redisUrl !== undefined) {
      yield* Console.log(`Store the Redis URL in the cluster once: kubectl create secret generic ${redisSecret} --from-literal=url=<the URL>`)
    }
    if (options.apply) {
      const applied = spawnSync("kubectl", ["apply", "-f", path.join(options.out, "k8s")], { stdio: "inherit" })
      if (applied.error !== undefined || applied.status !== 0) {
        return yield* new DeployError({
          message: applied.error !== undefined ? `kubectl could not run (${applied.error.message}): install it, or apply ${path.join(options.out, "k8s")} yourself` : "kubectl apply failed"
        })
      }
    }
  })).pipe(Command.withDescription("Write a Dockerfile and the Kubernetes manifests for an app (--apply applies them)"))

const deploy = Command.make("deploy").pipe(
  Command.withDescription("Deploy an app"),
  Command.withSubcommands([local, kubernetes])
)

const list = Command.make("list", {}, () =>
  Effect.gen(function*() {
    const all = yield* Deploy.list
    if (all.length === 0) return yield* Console.log("No deployment is running")
    for (const deployment of all) {
      yield* Console.log(`${deployment.name}\t${deployment.url}\tpid ${deployment.pid}\tsince ${deployment.startedAt}\t${deployment.entry}`)
    }
  })).pipe(Command.withDescription("List the deployments running on this machine"))

const status = Command.make("status", { name }, ({ name }) =>
  Effect.gen(function*() {
    const deployment = yield* Deploy.find(orUndefined(name))
    const health = yield* Effect.promise(() =>
      fetch(`${deployment.url}/health`, { signal: AbortSignal.timeout(2_000) }).then((reply) => reply.json(), (error: Error) => ({ error: error.message }))
    )
    yield* Console.log(JSON.stringify({ ...deployment, health }, null, 2))
  })).pipe(Command.withDescription("A deployment's process, URL and health"))

const logs = Command.make("logs", {
  name,
  follow: Flag.Boolean("follow").pipe(Flag.withAlias("f"), Flag.withDescription("Keep printing what the app writes"), Flag.withDefault(false))
}, ({ follow, name }) =>
  Effect.gen(function*() {
    const deployment = yield* Deploy.find(orUndefined(name))
    let offset = 0
    const printNew = Effect.sync(() => {
      const size = fs.statSync(deployment.log).size
      if (size <= offset) return
      const fd = fs.openSync(deployment.log, "r")
      const buffer = Buffer.alloc(size - offset)
      fs.readSync(fd, buffer, 0, buffer.length, offset)
      fs.closeSync(fd)
      offset = size
      process.stdout.write(buffer)
    })
    yield* printNew
    if (follow) yield* Effect.forever(Effect.andThen(Effect.sleep("200 millis"), printNew))
  })).pipe(Command.withDescription("Print a deployment's log"))

const stop = Command.make("stop", {
  name,
  grace: Flag.Int("grace").pipe(Flag.withDescription("Seconds to let runs finish before the process is killed"), Flag.withDefault(30))
}, ({ grace, name }) =>
  Effect.gen(function*() {
    const deployment = yield* Deploy.find(orUndefined(name))
    yield* Console.log(`Stopping ${deployment.name} (pid ${deployment.pid}): its runs may finish first`)
    yield* Deploy.stopDeployment(deployment, Duration.seconds(grace))
    yield* Console.log(`${deployment.name} stopped`)
  })).pipe(Command.withDescription("Stop a deployment: SIGTERM, the graceful drain, then exit"))

const talkFlags = {
  session: Flag.String("session").pipe(Flag.withDescription("The session (default: a new one)"), Flag.optional),
  user: Flag.String("user").pipe(Flag.withDescription("The user id (default: the session id, or the token's user)"), Flag.optional),
  token: Flag.Redacted("token").pipe(
    Flag.withDescription("Credentials for an app with auth: an API key or a JWT (default: $AGENTAPP_TOKEN)"),
    Flag.withFallbackConfig(Config.Redacted("AGENTAPP_TOKEN")),
    Flag.optional
  )
}

/** Who talks, from the flags. */
const callerOf = (user: Option.Option<string>, token: Option.Option<Redacted.Redacted<string>>): Talk.Caller => ({
  userId: orUndefined(user),
  token: Option.isSome(token) ? Redacted.value(token.value) : undefined
})

const url = Argument.String("url").pipe(Argument.withDescription("The agent's base URL (http://127.0.0.1:8090)"))

const invoke = Command.make("invoke", {
  url,
  text: Argument.String("text").pipe(Argument.withDescription("What to say")),
  ...talkFlags
}, ({ session, text, token, url, user }) =>
  Effect.gen(function*() {
    const sessionId = orUndefined(session) ?? crypto.randomUUID()
    // a Ctrl-C stops the run, and the command ends once the answer has
    const ending = yield* Effect.uninterruptible(Talk.turn(url, text, sessionId, callerOf(user, token)))
    if (ending !== "completed") process.exitCode = ending === "canceled" ? 130 : 1
  })).pipe(Command.withDescription("Send one message and stream the answer (Ctrl-C stops the run)"))

const chat = Command.make("chat", { url, ...talkFlags }, ({ session, token, url, user }) =>
  Effect.gen(function*() {
    const sessionId = orUndefined(session) ?? crypto.randomUUID()
    const caller = callerOf(user, token)
    console.log(`Session ${sessionId}. Ctrl-C stops an answer; Ctrl-D, or Ctrl-C at the prompt, leaves.`)
    // line by line, the terminal left in its own mode: Ctrl-C is a signal, the chat's to handle
    const lines = readline.createInterface({ input: process.stdin, output: process.stdout, prompt: "> ", terminal: false })
    const saved = process.listeners("SIGINT")
    process.removeAllListeners("SIGINT")
    let answering = false
    const onInterrupt = () => {
      if (!answering) lines.close()
    }
    process.on("SIGINT", onInterrupt)
    // lines that come while an answer streams wait their turn
    const queued: Array<string> = []
    let closed = false
    let waiting: ((line: string | undefined) => void) | undefined
    lines.on("line", (line) => (waiting === undefined ? queued.push(line) : (waiting(line), (waiting = undefined))))
    lines.on("close", () => {
      closed = true
      waiting?.(undefined)
    })
    const next = () =>
      new Promise<string | undefined>((resolve) => {
        if (queued.length > 0) return resolve(queued.shift())
        if (closed) return resolve(undefined)
        waiting = resolve
        lines.prompt()
      })
    yield* Effect.gen(function*() {
      while (true) {
        const line = yield* Effect.promise(next)
        if (line === undefined) return
        if (line.trim() === "") continue
        answering = true
        yield* Effect.ensuring(Talk.turn(url, line, sessionId, caller), Effect.sync(() => (answering = false)))
      }
    }).pipe(Effect.ensuring(Effect.sync(() => {
      lines.close()
      process.off("SIGINT", onInterrupt)
      for (const listener of saved) process.on("SIGINT", listener as () => void)
    })))
  })).pipe(Command.withDescription("Talk to an agent, turn after turn, in one session"))

/**
 * The root command.
 *
 * @since 0.1.0
 */
export const agentapp = Command.make("agentapp").pipe(
  Command.withDescription("Run, deploy and manage agentapp apps"),
  Command.withSubcommands([run, build, deploy, list, status, logs, stop, invoke, chat])
)

/**
 * Runs the command with these arguments (the process's, from the bin).
 *
 * @since 0.1.0
 */
export const main = (args: ReadonlyArray<string>) =>
  Command.runWith(agentapp, { version: "0.1.0" })(args).pipe(
    // a deploy error is the user's to act on: its message, and exit code 1
    Effect.catchTag("DeployError", (error) =>
      Effect.sync(() => {
        console.error(`agentapp: ${error.message}`)
        process.exitCode = 1
      }))
  )
