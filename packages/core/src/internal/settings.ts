/** An app's options (`AgentApp.Options`) and the settings they give, every default filled in. */
import { Duration } from "effect"
import type { HttpRouter } from "effect/http"
import type * as A2a from "../A2a.ts"
import type * as Interrupt from "../Interrupt.ts"
import type * as RunLog from "../RunLog.ts"
import type * as TaskQueue from "../TaskQueue.ts"
import { jobOptions, type Role } from "../Tasks.ts"

/**
 * How an app is described and tuned. Only `name` is required.
 *
 * @since 0.1.0
 */
export interface Options {
  readonly name: string
  readonly description?: string | undefined
  /** Reported by `GET /` and `/health`. Default `"0.1.0"`. */
  readonly version?: string | undefined
  /** Largest accepted request body, in bytes. Default 1 MiB. */
  readonly maxBodySize?: number | undefined
  /** Idle interval of the SSE `: keep-alive` comment; 0 turns it off. Default 15 s. */
  readonly keepAlive?: Duration.Input | undefined
  /** How long in-flight runs may go on after shutdown begins. Default 10 s. */
  readonly shutdownGracePeriod?: Duration.Input | undefined
  /** Path of the query route. Default `/process`. */
  readonly processPath?: HttpRouter.PathInput | undefined
  /** Log every request (method, path, status). Default off: the hot path stays lean. */
  readonly logRequests?: boolean | undefined
  /** Path of the stop route; `false` leaves it out. Default `/stop`. */
  readonly stopPath?: HttpRouter.PathInput | false | undefined
  /** Path of the typed RPC route (`AgentRpcs`, ndjson over HTTP); `false` leaves it out. Default `/rpc`. */
  readonly rpcPath?: HttpRouter.PathInput | false | undefined
  /** Task workers: jobs run at once per queue, and the queue of `/process/task`. */
  readonly tasks?: {
    /** Default 4. */
    readonly concurrency?: number | undefined
    /** Default `"default"`. */
    readonly processQueue?: string | undefined
    /** Retention of `/process/task` results. Default 1 hour. */
    readonly retention?: Duration.Input | undefined
  } | undefined
  /**
   * Cross-origin requests from browsers (CORS), on every route, streamed
   * ones included. Default off: only pages of the server's own origin may
   * call it from a browser. `true` allows any origin, without credentials;
   * an object says which origins, methods and headers, and whether
   * credentials (cookies, `Authorization`) may be sent.
   */
  readonly cors?: boolean | CorsOptions | undefined
  /**
   * The OpenAI-compatible endpoints (`POST /responses`, `POST /chat/completions`,
   * `GET /models`) under this path, for OpenAI's clients and the chat UIs that
   * speak its API; `true` for `/compatible-mode/v1`. Default off.
   */
  readonly openAi?: boolean | HttpRouter.PathInput | undefined
  /** AG-UI (`RunAgentInput` in, AG-UI events out) on this path; `true` for `/ag-ui`. Default off. */
  readonly agUi?: boolean | HttpRouter.PathInput | undefined
  /**
   * The playground, a page to chat with the agent from a browser (streamed
   * text, reasoning, tool calls, stop, sessions): `true` for `GET /playground`,
   * or its path. Default off. It stays open with `Auth` (it holds no data; it
   * asks for a token and sends it with its requests).
   */
  readonly playground?: boolean | HttpRouter.PathInput | undefined
  /**
   * The API description: `GET /openapi.json` (OpenAPI 3.1 of every route) and
   * `GET /docs` (a reference page of it). Default on; `false` leaves them out.
   * With `Auth`, the page is open and the document needs credentials.
   */
  readonly apiDocs?: boolean | { readonly spec?: string | undefined; readonly docs?: string | undefined } | undefined
  /**
   * A2A: the agent card at `/.well-known/agent-card.json` and the JSON-RPC
   * binding (v1.0 and the 0.3 method names) at `/a2a`; `true` for the
   * defaults, an object for the card's fields and the task timeout. Default off.
   */
  readonly a2a?: boolean | A2a.Options | undefined
  /**
   * The event log of runs, for `GET /process/{id}/events` (join, resume) and
   * `GET /process/{id}`: its retention and bounds, or `false` to turn it off.
   * Default on (10 minutes, 10,000 events per run; in memory, 1,000 runs).
   */
  readonly eventLog?: boolean | RunLog.Options | undefined
  /** How runs hold their session. */
  readonly sessions?: {
    /**
     * A run in a busy session: `"reject"` (409, the default), `"interrupt"` the
     * running one and take over, or `"enqueue"`: wait for its turn, in order
     * of arrival, across nodes (409 when `maxQueue` runs already wait).
     */
    readonly onBusy?: "reject" | "interrupt" | "enqueue" | undefined
    /** With `"enqueue"`: the most runs that wait per session. Default 10. */
    readonly maxQueue?: number | undefined
    /** Lease TTL, renewed every third of it while the run lives. Default 30 s. */
    readonly leaseTtl?: Duration.Input | undefined
    /** How long the final state of a run is kept. Default 600 s. */
    readonly stateTtl?: Duration.Input | undefined
    /** Append each turn's input and completed output to the session history. Default `true`. */
    readonly history?: boolean | undefined
  } | undefined
  /** What one user may do; over a limit, 429 with `Retry-After`. Default: no limit. */
  readonly limits?: {
    /** Runs one user may have going at once, across sessions and nodes (by the run's `user_id`). */
    readonly runsPerUser?: number | undefined
    /**
     * Requests one authenticated user may make a minute (needs an `Auth`:
     * without it a request's user is whatever its body says). Counted in the
     * `RateLimiterStore` provided (Redis with `@agentapp/redis`), else in memory.
     */
    readonly requestsPerMinute?: number | undefined
  } | undefined
}

/**
 * Options of `serve`.
 *
 * @since 0.1.0
 */
export interface ServeOptions {
  /**
   * `"both"` (the default) answers the API and runs task workers; `"api"`
   * only answers; `"worker"` only runs workers (and the health routes).
   */
  readonly role?: Role | undefined
}

/**
 * Which cross-origin requests are allowed.
 *
 * @since 0.1.0
 */
export interface CorsOptions {
  /** The allowed origins (`https://app.example.com`), or a predicate; default any (`*`). */
  readonly origins?: ReadonlyArray<string> | ((origin: string) => boolean) | undefined
  /** Default GET, HEAD, POST, PUT, PATCH, DELETE. */
  readonly methods?: ReadonlyArray<string> | undefined
  /** Request headers allowed; default whatever the preflight asks for. */
  readonly headers?: ReadonlyArray<string> | undefined
  /** Response headers a page may read. */
  readonly exposedHeaders?: ReadonlyArray<string> | undefined
  /** Allow cookies and `Authorization`; needs explicit `origins`. Default false. */
  readonly credentials?: boolean | undefined
  /** How long a browser may cache a preflight, in seconds. Default 600. */
  readonly maxAge?: number | undefined
}

/**
 * The options with every default filled in.
 *
 * @since 0.1.0
 */
export interface Settings {
  readonly name: string
  readonly description: string
  readonly version: string
  readonly maxBodySize: number
  readonly keepAlive: Duration.Duration
  readonly shutdownGracePeriod: Duration.Duration
  readonly processPath: HttpRouter.PathInput
  readonly logRequests: boolean
  readonly stopPath: HttpRouter.PathInput | false
  readonly rpcPath: HttpRouter.PathInput | false
  readonly claim: Interrupt.ClaimOptions
  readonly history: boolean
  readonly concurrency: number
  readonly processQueue: string
  readonly processJob: TaskQueue.JobOptions
  readonly cors: CorsOptions | undefined
  readonly openAiPath: HttpRouter.PathInput | false
  readonly agUiPath: HttpRouter.PathInput | false
  readonly playgroundPath: HttpRouter.PathInput | false
  readonly apiDocs: { readonly spec: string; readonly docs: string } | false
  readonly a2a: A2aSettings | false
  readonly eventLog: RunLog.Options | false
  readonly requestsPerMinute: number | undefined
}

/**
 * The `a2a` option with its defaults.
 *
 * @since 0.1.0
 */
export interface A2aSettings {
  readonly path: HttpRouter.PathInput
  readonly options: A2a.Options
  readonly taskTimeout: Duration.Duration
}

const a2aSettings = (a2a: Options["a2a"]): A2aSettings | false => {
  if (a2a === undefined || a2a === false) return false
  const options = a2a === true ? {} : a2a
  return {
    path: options.path ?? "/a2a",
    options,
    taskTimeout: Duration.fromInputUnsafe(options.taskTimeout ?? Duration.minutes(10))
  }
}

const corsOptions = (cors: Options["cors"]): CorsOptions | undefined => {
  if (cors === undefined || cors === false) return undefined
  const options = cors === true ? {} : cors
  if (options.credentials === true && options.origins === undefined) {
    throw new Error("cors: credentials need explicit origins (a browser refuses credentials with any origin, *)")
  }
  return options
}

/**
 * The settings of an app: its options with every default filled in.
 *
 * @since 0.1.0
 */
export const settingsOf = (options: Options): Settings => {
  return {
    name: options.name,
    description: options.description ?? "",
    version: options.version ?? "0.1.0",
    maxBodySize: options.maxBodySize ?? 1024 * 1024,
    keepAlive: Duration.fromInputUnsafe(options.keepAlive ?? Duration.seconds(15)),
    shutdownGracePeriod: Duration.fromInputUnsafe(options.shutdownGracePeriod ?? Duration.seconds(10)),
    processPath: options.processPath ?? "/process",
    logRequests: options.logRequests ?? false,
    stopPath: options.stopPath ?? "/stop",
    rpcPath: options.rpcPath ?? "/rpc",
    claim: {
      onBusy: options.sessions?.onBusy ?? "reject",
      leaseTtl: Duration.fromInputUnsafe(options.sessions?.leaseTtl ?? Duration.seconds(30)),
      stateTtl: Duration.fromInputUnsafe(options.sessions?.stateTtl ?? Duration.seconds(600)),
      takeoverTimeout: Duration.seconds(10),
      maxQueue: options.sessions?.maxQueue ?? 10,
      runsPerUser: options.limits?.runsPerUser
    },
    history: options.sessions?.history ?? true,
    concurrency: options.tasks?.concurrency ?? 4,
    processQueue: options.tasks?.processQueue ?? "default",
    processJob: jobOptions({ retention: options.tasks?.retention }),
    cors: corsOptions(options.cors),
    openAiPath: options.openAi === true ? "/compatible-mode/v1" : options.openAi === undefined ? false : options.openAi,
    agUiPath: options.agUi === true ? "/ag-ui" : options.agUi === undefined ? false : options.agUi,
    apiDocs: options.apiDocs === false ? false : {
      spec: (typeof options.apiDocs === "object" ? options.apiDocs.spec : undefined) ?? "/openapi.json",
      docs: (typeof options.apiDocs === "object" ? options.apiDocs.docs : undefined) ?? "/docs"
    },
    playgroundPath: options.playground === true ? "/playground" : options.playground === undefined ? false : options.playground,
    a2a: a2aSettings(options.a2a),
    eventLog: options.eventLog === false ? false : options.eventLog === true || options.eventLog === undefined ? {} : options.eventLog,
    requestsPerMinute: options.limits?.requestsPerMinute
  }
}
