/**
 * Starts a real server process for tests and waits for its listen line.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { createServer } from "node:net"
import * as path from "node:path"
import { afterAll, beforeAll } from "vitest"

export const repoRoot = path.resolve(import.meta.dirname, "../..")

/** The node binary that runs the tests: the project's pinned Node 22. */
export const nodeBin = process.execPath

export interface ServerProcess {
  readonly child: ChildProcess
  readonly url: string
  /** Everything the process wrote so far, stdout and stderr. */
  readonly output: () => string
  /** Resolves with the exit code (and signal) once the process has exited. */
  readonly exited: Promise<{ readonly code: number | null; readonly signal: NodeJS.Signals | null }>
  /** Resolves once the process has exited and every holder of its output pipes (children too) closed them. */
  readonly closed: Promise<void>
  /** Resolves when the output contains `text`, rejects after `timeoutMs`. */
  readonly waitForOutput: (text: string | RegExp, timeoutMs?: number) => Promise<void>
  readonly kill: (signal?: NodeJS.Signals) => void
}

const listenLine = /Listening on (http:\/\/[^\s]+)/

/** Spawns `command args` in the repo with `PORT=0`, and waits for "Listening on http://…". */
export const startServer = async (
  command: string,
  args: ReadonlyArray<string>,
  options?: { readonly env?: Record<string, string>; readonly timeoutMs?: number }
): Promise<ServerProcess> => {
  const child = spawn(command, args, {
    cwd: repoRoot,
    env: { ...process.env, PORT: "0", ...options?.env },
    stdio: ["ignore", "pipe", "pipe"],
    detached: false
  })
  let output = ""
  const listeners = new Set<() => void>()
  const onData = (chunk: Buffer) => {
    output += chunk.toString()
    for (const listener of listeners) listener()
  }
  child.stdout!.on("data", onData)
  child.stderr!.on("data", onData)
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => {
      for (const listener of listeners) listener()
      resolve({ code, signal })
    })
  )
  const closed = new Promise<void>((resolve) => child.once("close", () => resolve()))
  const waitForOutput = (text: string | RegExp, timeoutMs = 20_000) =>
    new Promise<void>((resolve, reject) => {
      const check = () => {
        if (typeof text === "string" ? output.includes(text) : text.test(output)) {
          cleanup()
          resolve()
        } else if (child.exitCode !== null || child.signalCode !== null) {
          cleanup()
          reject(new Error(`process exited before printing ${text}; output:\n${output}`))
        }
      }
      const timer = setTimeout(() => {
        cleanup()
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${text}; output:\n${output}`))
      }, timeoutMs)
      const cleanup = () => {
        clearTimeout(timer)
        listeners.delete(check)
      }
      listeners.add(check)
      check()
    })
  await waitForOutput(listenLine, options?.timeoutMs ?? 30_000)
  const url = listenLine.exec(output)![1].replace("0.0.0.0", "127.0.0.1")
  return {
    child,
    url,
    output: () => output,
    exited,
    closed,
    waitForOutput,
    kill: (signal = "SIGTERM") => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal)
    }
  }
}

/** Resolves with `promise`, or rejects after `ms` with `what` in the message. */
export const within = <A>(ms: number, what: string, promise: Promise<A>): Promise<A> =>
  new Promise<A>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms)
    promise.then(
      (value) => {
        clearTimeout(timer)
        resolve(value)
      },
      (error) => {
        clearTimeout(timer)
        reject(error)
      }
    )
  })

/** A TCP port that is free on 127.0.0.1 right now. */
export const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as { port: number }).port
      server.close(() => resolve(port))
    })
  })

/** Resolves once `check` holds (checked every `everyMs`), rejects after `ms` naming `what`. */
export const waitFor = async (what: string, check: () => Promise<boolean>, ms = 10_000, everyMs = 10) => {
  const deadline = Date.now() + ms
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`)
    await new Promise((resolve) => setTimeout(resolve, everyMs))
  }
}

/**
 * `npm start` (Friday, 5 ms between words) for the tests of one file: started
 * before them, stopped after them (its exit awaited). The server is read
 * through the returned value once the tests run.
 */
export const useFriday = (): ServerProcess => {
  let server: ServerProcess | undefined
  beforeAll(async () => {
    server = await startServer("npm", ["start", "--silent"], { env: { FRIDAY_DELAY_MS: "5" } })
  })
  afterAll(async () => {
    server?.kill("SIGTERM")
    if (server) await within(10_000, "npm start to exit", server.exited)
  })
  return new Proxy({} as ServerProcess, { get: (_, key) => server![key as keyof ServerProcess] })
}
