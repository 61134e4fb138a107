/**
 * Helpers of the benchmarks: servers pinned to a core, CPU and memory read
 * from /proc, autocannon, percentiles.
 */
import autocannon from "autocannon"
import { type ChildProcess, execFileSync, spawn } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { runtimeFlags } from "../packages/deploy/src/Deploy.ts"
import { bundle, compileCacheOf, writeCompileCache } from "../packages/deploy/src/internal/bundle.ts"

export const root = path.resolve(import.meta.dirname, "..")

/** Whether `taskset` can pin processes (server on core 0, load on core 1). */
export const canPin = (() => {
  try {
    execFileSync("taskset", ["-c", "0", "true"])
    return true
  } catch {
    return false
  }
})()

/** Whether `nice` can run a process at a lower priority (the load generators beside a measuring client). */
export const canNice = (() => {
  try {
    execFileSync("nice", ["-n", "10", "true"])
    return true
  } catch {
    return false
  }
})()

export interface Server {
  readonly url: string
  readonly pid: number
  readonly child: ChildProcess
  readonly output: () => string
  readonly stop: () => Promise<void>
}

/**
 * The V8 flags of a server under test, as the README advises for production.
 * Every server runs without allocation-site pretenuring
 * (`--no-allocation-site-pretenuring`): V8 would otherwise allocate the
 * objects of sites whose objects survived its first young collections in the
 * old generation from then on, and a server's short-lived request objects
 * would keep what they point to alive until a full collection (RESULTS.md,
 * "Fifth round"). A server pinned to one core also runs V8's garbage collector on
 * its one thread (`--single-threaded-gc`), as a one-core deployment should:
 * the concurrent collector's threads would share the core with the event
 * loop and stretch its turns ("Fourth round"). `defaultGc`
 * (`npm run bench -- --default-gc`) keeps V8's defaults for both.
 */
export const serverFlags = (options: { readonly pinned: boolean; readonly defaultGc: boolean }): Array<string> =>
  options.defaultGc
    ? []
    : options.pinned
    ? ["--single-threaded-gc", "--no-allocation-site-pretenuring"]
    : ["--no-allocation-site-pretenuring"]

/**
 * Starts `node script` (pinned to core 0 when possible) and waits for its
 * "Listening on" line; `nodeFlags` go to node before the script. `command`
 * runs another program instead (a baseline in another language).
 */
export const startServer = (
  script: string,
  env: Record<string, string> = {},
  options?: {
    readonly pin?: boolean
    readonly defaultGc?: boolean
    readonly nodeFlags?: ReadonlyArray<string>
    readonly command?: ReadonlyArray<string> | undefined
  }
) =>
  new Promise<Server>((resolve, reject) => {
    const pin = canPin && options?.pin !== false
    const args = [
      "--disable-warning=ExperimentalWarning",
      ...serverFlags({ pinned: pin, defaultGc: options?.defaultGc ?? false }),
      ...(options?.nodeFlags ?? []),
      script
    ]
    const argv = options?.command ?? [process.execPath, ...args]
    const child = pin
      ? spawn("taskset", ["-c", "0", ...argv], { cwd: root, env: { ...process.env, PORT: "0", ...env } })
      : spawn(argv[0], argv.slice(1), { cwd: root, env: { ...process.env, PORT: "0", ...env } })
    let output = ""
    const timer = setTimeout(() => reject(new Error(`${script} did not start:\n${output}`)), 30_000)
    const onData = (chunk: Buffer) => {
      output += chunk
      const match = /Listening on (http:\/\/\S+)/.exec(output)
      if (match) {
        clearTimeout(timer)
        child.stdout!.off("data", onData)
        child.stdout!.on("data", (more: Buffer) => (output += more))
        resolve({
          url: match[1],
          pid: child.pid!,
          child,
          output: () => output,
          stop: () =>
            new Promise<void>((done) => {
              if (child.exitCode !== null) return done()
              child.once("exit", () => done())
              child.kill("SIGTERM")
              setTimeout(() => child.kill("SIGKILL"), 5_000).unref()
            })
        })
      }
    }
    child.stdout!.on("data", onData)
    child.stderr!.on("data", (chunk: Buffer) => (output += chunk))
    child.once("exit", (code) => reject(new Error(`${script} exited with ${code}:\n${output}`)))
  })

/** This bench run's own folder (bundles, recorded replies), removed when the run exits. */
export const scratch = (() => {
  let folder: string | undefined
  return (name: string): string => {
    if (folder === undefined) {
      const made = mkdtempSync(path.join(os.tmpdir(), "agentapp-bench-"))
      process.once("exit", () => rmSync(made, { recursive: true, force: true }))
      folder = made
    }
    return path.join(folder, name)
  }
})()

const bundles = new Map<string, Promise<{ readonly script: string; readonly env: Record<string, string> }>>()

/**
 * A TypeScript server's production bundle, as `agentapp build` writes it (one
 * ESM file, V8's compile cache beside it), made once per bench run: the
 * servers under test run as in production, and start in a fifth of the time.
 */
export const bundled = (script: string) => {
  let made = bundles.get(script)
  if (made === undefined) {
    made = (async () => {
      const outfile = scratch(path.join("bundles", script.replace(/[\\/]/g, "_").replace(/\.ts$/, ".mjs")))
      await bundle(path.resolve(root, script), outfile, { quiet: true })
      // a server that exits as it loads without its settings (examples/llm.ts) starts without the cache
      return { script: outfile, env: writeCompileCache(outfile, runtimeFlags) ? { NODE_COMPILE_CACHE: compileCacheOf(outfile) } : {} }
    })()
    bundles.set(script, made)
  }
  return made
}

const ticksPerSecond = 100

/** CPU time (user + system) of a process so far, in ms. */
export const cpuMs = (pid: number): number => {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ")
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / ticksPerSecond
}

/** Resident memory of a process, in bytes. */
export const rssBytes = (pid: number): number => {
  const line = readFileSync(`/proc/${pid}/status`, "utf8").split("\n").find((l) => l.startsWith("VmRSS:"))!
  return Number(line.split(/\s+/)[1]) * 1024
}

export interface Load {
  readonly requests: number
  readonly rps: number
  readonly p50: number
  readonly p99: number
  /** Socket errors and timeouts (autocannon counts timeouts among its errors). */
  readonly errors: number
  readonly timeouts: number
  readonly non2xx: number
  readonly cpuMsPerRequest: number
}

/** Runs autocannon against a server and reads its CPU over the run. */
export const load = async (
  server: Server,
  options: {
    readonly path: string
    readonly body: string
    readonly connections: number
    readonly seconds: number
    /** Replace each `[<id>]` of the body with a new random id per request. */
    readonly idReplacement?: boolean | undefined
    readonly headers?: Record<string, string> | undefined
    /** Requests per second over all connections (the load at a fixed rate rather than as fast as it goes). */
    readonly rate?: number | undefined
    /** Each connection's body, by its number in the run: the same numbers on every run (a session per connection). */
    readonly bodyOfConnection?: ((n: number) => string) | undefined
  }
): Promise<Load> => {
  let connection = 0
  const before = cpuMs(server.pid)
  const result = await autocannon({
    url: `${server.url}${options.path}`,
    method: "POST",
    headers: { "content-type": "application/json", ...options.headers },
    body: options.body,
    connections: options.connections,
    duration: options.seconds,
    idReplacement: options.idReplacement ?? false,
    ...(options.rate === undefined ? {} : { overallRate: options.rate }),
    ...(options.bodyOfConnection === undefined ? {} : {
      setupClient: (client) => client.setBody(options.bodyOfConnection!(connection++ % options.connections))
    })
  })
  const cpu = cpuMs(server.pid) - before
  const requests = result.requests.total
  return {
    requests,
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors,
    timeouts: result.timeouts,
    non2xx: result.non2xx,
    cpuMsPerRequest: requests === 0 ? Number.NaN : cpu / requests
  }
}

export const percentile = (values: ReadonlyArray<number>, p: number): number => {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]
}

/** The mean of `values` (NaN when there are none). */
export const mean = (values: ReadonlyArray<number>): number =>
  values.reduce((sum, value) => sum + value, 0) / values.length

export const round = (value: number, digits = 2) => Number(value.toFixed(digits))

/** SSE text with ids and timestamps masked, to compare two servers' replies. */
export const masked = (text: string): string =>
  text.replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, "UUID")
    .replace(/call_[0-9a-f]{8}/g, "call_X")
    .replace(/"(created|completed)_at":\d+/g, "\"$1_at\":T")

/** The events of an SSE text as `id data` lines, whatever the order of the fields within a frame. */
export const sseEvents = (text: string): Array<string> =>
  text.split("\n\n").filter((frame) => frame.trim() !== "").map((frame) => {
    const fields = Object.fromEntries(frame.split("\n").map((line) => [line.slice(0, line.indexOf(":")), line.slice(line.indexOf(":") + 1).trim()]))
    return `${fields.id} ${masked(fields.data ?? "")}`
  })

/** Times from starting a server to its first 200 on `/readiness`, `n` starts one after another, in ms. */
export const timesToReady = async (start: () => Promise<Server>, n: number): Promise<Array<number>> => {
  const times: Array<number> = []
  for (let i = 0; i < n; i++) {
    const began = performance.now()
    const server = await start()
    while (!(await fetch(`${server.url}/readiness`).then((r) => r.status === 200, () => false))) {
      await new Promise((resolve) => setTimeout(resolve, 2))
    }
    times.push(performance.now() - began)
    await server.stop()
  }
  return times
}
