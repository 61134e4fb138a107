/**
 * A real Redis for tests: `REDIS_URL` when it is set, otherwise a private
 * `redis-server` on a free port that keeps nothing on disk.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { freePort } from "./server.ts"

export interface RedisServer {
  readonly url: string
  readonly port: number
  /** Stops the server (SIGKILL when `hard`) and waits until it has exited. */
  readonly stop: (options?: { readonly hard?: boolean }) => Promise<void>
  /** Starts it again on the same port. */
  readonly start: () => Promise<void>
}

const missing = "redis-server is not on PATH. Install it (Debian: apt-get install -y redis-server) or set REDIS_URL."

/** Starts a private redis-server; the tests that restart Redis need one of their own. */
export const startRedisServer = async (): Promise<RedisServer> => {
  const port = await freePort()
  let child: ChildProcess | undefined
  const start = () =>
    new Promise<void>((resolve, reject) => {
      const process_ = spawn(
        "redis-server",
        ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        { stdio: ["ignore", "pipe", "pipe"] }
      )
      child = process_
      let output = ""
      const timer = setTimeout(() => reject(new Error(`redis-server did not start:\n${output}`)), 10_000)
      process_.once("error", (error: NodeJS.ErrnoException) => {
        clearTimeout(timer)
        reject(error.code === "ENOENT" ? new Error(missing) : error)
      })
      process_.stdout!.on("data", (chunk) => {
        output += chunk
        if (output.includes("Ready to accept connections")) {
          clearTimeout(timer)
          resolve()
        }
      })
      process_.once("exit", () => clearTimeout(timer))
    })
  const stop = (options?: { readonly hard?: boolean }) =>
    new Promise<void>((resolve) => {
      const current = child
      if (current === undefined || current.exitCode !== null || current.signalCode !== null) return resolve()
      current.once("exit", () => resolve())
      current.kill(options?.hard ? "SIGKILL" : "SIGTERM")
    })
  await start()
  return { url: `redis://127.0.0.1:${port}`, port, stop, start }
}

/** The Redis the tests share: `REDIS_URL`, or a private server (stopped by `release`). */
export const acquireRedis = async (): Promise<{ readonly url: string; readonly release: () => Promise<void> }> => {
  if (process.env.REDIS_URL) return { url: process.env.REDIS_URL, release: async () => {} }
  const server = await startRedisServer()
  return { url: server.url, release: () => server.stop() }
}

/** A key prefix no other test uses, so that tests can share one Redis. */
export const uniquePrefix = (name: string) => `test:${name}:${crypto.randomUUID().slice(0, 8)}`
