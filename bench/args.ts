/**
 * The bench's command line: `--quick`, `--only 1,5`, `--default-gc`, `--help`. Anything else
 * is refused with a message and exit code 2 before a server starts, rather
 * than running seven minutes of the wrong thing.
 */
import { parseArgs } from "node:util"

/** The scenarios, by number. */
export const scenarios: ReadonlyArray<string> = [
  "/process throughput (Friday, no delay)",
  "time to first byte",
  "2,000 concurrent long-lived streams (300 in --quick)",
  "interrupt latency",
  "task queue",
  "startup",
  "the cost of rejecting bad bodies",
  "a long session against fresh ones",
  "an agent on a model (AI SDK adapter) against a plain handler, CPU per token",
  "the protocol adapters (Responses, Chat Completions, AG-UI, A2A) against /process, CPU per request",
  "the agentapp CLI: deploy local against the bundle's own start; --help CPU",
  "the event log: /process with it on and off (memory, Redis), and one run to 1,000 followers",
  "auth: /process CPU with auth off, an API key and a JWT; Redis round trips per request of the rate limiter",
  "tracing: /process CPU and throughput with traces, metrics and logs exported over OTLP against none",
  "against FastAPI on uvicorn (the original's stack), the Effect floor, Hono's streamSSE and raw node:http: throughput, capped history, CPU, TTFB, open streams, startup"
]

export const usage = `usage: npm run bench [-- --quick] [-- --only N[,N...]] [-- --default-gc]

  --quick       smaller runs (about 3 minutes; the whole bench about 10)
  --only        the scenarios to run, by number:
${scenarios.map((name, i) => `                  ${i + 1}. ${name}`).join("\n")}
  --default-gc  servers keep V8's GC defaults (by default they run without
                allocation-site pretenuring, and a server pinned to one core runs
                the GC on its one thread: --no-allocation-site-pretenuring,
                --single-threaded-gc)
  --help        this text`

export interface BenchArgs {
  readonly quick: boolean
  /** The scenarios to run; `undefined` for all. */
  readonly only: ReadonlySet<number> | undefined
  /** Whether pinned servers keep V8's default GC threads. */
  readonly defaultGc: boolean
  readonly help: boolean
}

/** Parses the bench's arguments; throws an `Error` whose message says what is wrong. */
export const parseBenchArgs = (args: ReadonlyArray<string>): BenchArgs => {
  const { values, positionals } = parseArgs({
    args: [...args],
    options: {
      quick: { type: "boolean", default: false },
      only: { type: "string" },
      "default-gc": { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false }
    },
    strict: true,
    allowPositionals: true
  })
  if (positionals.length > 0) throw new Error(`unexpected argument: ${positionals[0]}`)
  let only: Set<number> | undefined
  if (values.only !== undefined) {
    only = new Set()
    for (const part of values.only.split(",")) {
      const n = Number(part.trim())
      if (!Number.isInteger(n) || n < 1 || n > scenarios.length) {
        throw new Error(`--only takes scenario numbers from 1 to ${scenarios.length}, not "${part}"`)
      }
      only.add(n)
    }
  }
  return { quick: values.quick, only, defaultGc: values["default-gc"], help: values.help }
}
