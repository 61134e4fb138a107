/**
 * Friday, the default agent: no API key, no network. It streams, word by word,
 * a reasoning message, a call to a local tool with its result, and a final
 * answer, so that `curl -N` shows every kind of event.
 *
 *   npm start                      # serves on 127.0.0.1:8090
 *   PORT=9000 HOST=0.0.0.0 npm start
 *   FRIDAY_DELAY_MS=0 npm start    # no delay between words
 *
 * examples/distributed.ts serves the same app on Redis.
 */
import { AgentApp, Auth, Protocol, Telemetry } from "@agentapp/core"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { Cause, Config, Context, Duration, Effect, Layer, Option, Schema, Stream } from "effect"
import { createServer } from "node:http"

/**
 * A resource shared with the handlers, the Effect form of `app.state`: it is
 * acquired before the server accepts requests and released after it stops.
 */
export class Toolbox extends Context.Service<Toolbox, {
  readonly wordStats: (text: string) => Effect.Effect<{ readonly words: number; readonly characters: number }>
}>()("examples/Toolbox") {
  static readonly layer = Layer.effect(
    Toolbox,
    Effect.gen(function*() {
      yield* Effect.acquireRelease(
        Effect.log("Toolbox: initializing resources"),
        () => Effect.log("Toolbox: cleaning up resources")
      )
      return Toolbox.of({
        // a span of the handler's own: with OTEL_EXPORTER_OTLP_ENDPOINT set, it is a child of the run's
        wordStats: (text) =>
          Effect.withSpan(
            Effect.succeed({
              words: text.split(/\s+/).filter((word) => word.length > 0).length,
              characters: text.length
            }),
            "Toolbox.wordStats",
            { captureStackTrace: false }
          )
      })
    })
  )
}

/**
 * Reads a setting once, at start: a bad value stops the program with a
 * message that names it, before anything listens.
 */
export const setting = <A>(config: Config.Config<A>): A => {
  const exit = Effect.runSyncExit(config)
  if (exit._tag === "Success") return exit.value
  console.error(`Configuration error: ${Cause.pretty(exit.cause)}`)
  return process.exit(1)
}

const delay = setting(Config.Duration("FRIDAY_DELAY_MS").pipe(
  Config.orElse(() => Config.Number("FRIDAY_DELAY_MS").pipe(Config.map(Duration.millis))),
  Config.withDefault(Duration.millis(40))
))

/** Splits a sentence into word pieces: "Hello", " world", "!". */
const words = (text: string): Array<string> => text.match(/\s*\S+/g) ?? []

/** Streams the outputs with a small pause after each, or all at once when there is no delay. */
const paced = (outputs: ReadonlyArray<AgentApp.AgentOutput>) =>
  Duration.isZero(delay)
    ? Stream.fromIterable(outputs)
    : Stream.fromIterable(outputs).pipe(Stream.tap(() => Effect.sleep(delay)))

const textOf = (message: Protocol.Message): string =>
  (message.content ?? []).flatMap((part) => part.type === "text" ? [part.text] : []).join(" ")

/** The text of the last user message among `messages`. */
const lastUserText = (messages: ReadonlyArray<Protocol.Message>): string => {
  for (let i = messages.length - 1; i >= 0; i--) {
    if ((messages[i].role ?? "user") === "user" && textOf(messages[i]).trim() !== "") return textOf(messages[i])
  }
  return ""
}

/** A name the user gave ("my name is Ada", "I'm Ada", "call me Ada"). */
const nameIn = (text: string): string | undefined =>
  /\b(?:my name is|i am|i'm|call me)\s+([A-Z][\w-]*)/i.exec(text)?.[1]

/** The latest name the user gave in earlier turns of the session. */
const rememberedName = (history: ReadonlyArray<Protocol.Message>): string | undefined =>
  history.filter((message) => message.role === "user").map((message) => nameIn(textOf(message))).filter(
    (name) => name !== undefined
  ).at(-1)

export const Friday = AgentApp.make({
  name: "Friday",
  description: "A helpful assistant that needs no API key",
  version: "0.1.0",
  // the OpenAI-compatible endpoints under /compatible-mode/v1: OpenAI's clients and chat UIs talk to Friday
  openAi: true,
  // AG-UI on POST /ag-ui: AG-UI front ends (CopilotKit and others) talk to Friday
  agUi: true,
  // a page to chat with Friday from a browser: http://127.0.0.1:8090/playground
  playground: true,
  // A2A: the agent card at /.well-known/agent-card.json and JSON-RPC on POST /a2a, for other agents
  a2a: {
    skills: [{
      id: "word_stats",
      name: "Word statistics",
      description: "Counts the words and characters of a message, and tells long stories",
      tags: ["text", "demo"],
      examples: ["Hello Friday", "Tell me a long story"]
    }]
  },
  // EVENT_LOG=false turns off the runs' event log (join and resume; on by default)
  eventLog: setting(Config.Boolean("EVENT_LOG").pipe(Config.withDefault(true))),
  // a short lease lets a session held by a crashed node free up sooner (default 30 s)
  sessions: {
    leaseTtl: setting(Config.Number("LEASE_TTL_MS").pipe(Config.map(Duration.millis), Config.withDefault(undefined))),
    // ON_BUSY=enqueue: a message to a busy session waits its turn instead of getting 409
    onBusy: setting(Config.Literals(["reject", "interrupt", "enqueue"] as const, "ON_BUSY").pipe(Config.withDefault(undefined)))
  },
  // RUNS_PER_USER=2 REQUESTS_PER_MINUTE=60: what one user may do (429 beyond; the rate needs API_KEYS)
  limits: {
    runsPerUser: setting(Config.Int("RUNS_PER_USER").pipe(Config.withDefault(undefined))),
    requestsPerMinute: setting(Config.Int("REQUESTS_PER_MINUTE").pipe(Config.withDefault(undefined)))
  }
})

/**
 * API_KEYS="key-a=alice,key-b=bob": every route but the health probes wants
 * `Authorization: Bearer <key>`, and a key's user owns the runs it starts.
 * Without it Friday is open, as the original is.
 */
export const FridayAuth = Layer.unwrap(Effect.map(
  Config.option(Config.Redacted("API_KEYS")),
  Option.match({ onNone: () => Layer.empty, onSome: () => Auth.layerApiKeysConfig(Config.Redacted("API_KEYS")) })
))

/**
 * The agent: reasoning, a tool call and its result, then the answer. It
 * remembers the name the user gave in an earlier turn of the session, from
 * the history that the server keeps for it. Defined once with
 * `Effect.fnUntraced` rather than an `Effect.gen` built per request (README,
 * "An app, a query handler, and `serve`").
 */
export const Query = Friday.query(
  Effect.fnUntraced(function*(request: Protocol.AgentRequest, context: AgentApp.QueryContext) {
    const toolbox = yield* Toolbox
    const said = lastUserText(request.input)
    const stats = yield* toolbox.wordStats(said)
    const callId = `call_${crypto.randomUUID().slice(0, 8)}`
    const newName = nameIn(said)
    const knownName = rememberedName(context.history)
    const memory = newName !== undefined
      ? `The user's name is ${newName}.`
      : knownName !== undefined
      ? `I remember from earlier that the user's name is ${knownName}.`
      : "I do not know the user's name yet."
    const greeting = newName !== undefined
      ? `Nice to meet you, ${newName}!`
      : knownName !== undefined
      ? `Your name is ${knownName}, I remember you.`
      : "Hello, I am Friday!"
    if (/\bstory\b/i.test(said)) return story(knownName ?? newName)
    return paced([
      ...words(`The user said "${said}". ${memory} I will count its words with the word_stats tool.`).map(
        AgentApp.reasoning
      ),
      AgentApp.toolCall({ callId, name: "word_stats", arguments: { text: said } }),
      AgentApp.toolResult({ callId, name: "word_stats", output: stats }),
      ...words(`${greeting} Your message has ${stats.words} words and ${stats.characters} characters.`).map(
        AgentApp.text
      ),
      AgentApp.usage({ input_tokens: stats.words, output_tokens: 16 })
    ])
  })
)

const chapters = [
  "Friday the robot left the quiet harbour of Earth on a clear morning.",
  "The stars grew brighter as the engines hummed a low and steady song.",
  "Near a blue giant it found a planet of glass mountains and silver rain.",
  "It mapped every valley, named every river, and wrote it all down.",
  "Then a signal came from the far side of the galaxy, faint but patient."
]

/**
 * A long story, a few hundred words, for trying out `POST /stop`. Its
 * finalizer runs however the run ends, the place to save an agent's state.
 */
const story = (name: string | undefined) =>
  Stream.concat(
    paced(words(`${name ?? "The user"} wants a long story. I will tell it chapter by chapter.`).map(AgentApp.reasoning)),
    Stream.range(1, 12).pipe(
      Stream.flatMap((chapter) => paced(words(`Chapter ${chapter}. ${chapters.join(" ")} `).map(AgentApp.text)))
    )
  ).pipe(
    Stream.onExit((exit) => Effect.log(`story ${exit._tag === "Success" ? "finished" : "interrupted, state saved"}`))
  )

/** An endpoint: an Effect gives JSON. */
export const Hello = Friday.endpoint("POST", "/hello", Effect.succeed({ msg: "Hello world" }))

/** An endpoint with typed query parameters that streams SSE. */
export const Count = Friday.endpoint(
  "GET",
  "/count",
  { query: Schema.Struct({ to: Schema.optionalKey(Schema.FiniteFromString) }), summary: "Counts from 1 to `to` (default 5), as SSE" },
  ({ query }) => Stream.range(1, query.to ?? 5).pipe(Stream.map((n) => `number: ${n}`))
)

/**
 * The server, listening on PORT (default `defaultPort`) and HOST (default
 * 127.0.0.1), read with Effect's `Config`: a PORT that is not a port fails
 * the start with a message that names it.
 */
export const listen = (defaultPort: number) =>
  NodeHttpServer.layerConfig(createServer, {
    // 0 asks the system for a free port (the tests do)
    port: Config.schema(Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 65535 })), "PORT").pipe(
      Config.withDefault(defaultPort)
    ),
    host: Config.String("HOST").pipe(Config.withDefault("127.0.0.1"))
  })

/**
 * A background task: `POST /tasks/word_stats` answers a task id at once, and
 * `GET /tasks/word_stats/<id>` the result once a worker has run it.
 */
export const WordStats = Friday.task(
  "/tasks/word_stats",
  { payload: Schema.Struct({ text: Schema.String }), timeout: Duration.seconds(10), attempts: 2 },
  ({ text }) => Toolbox.use((toolbox) => toolbox.wordStats(text))
)

/** The routes of Friday, shared with examples/distributed.ts and examples/worker.ts. */
export const Routes = Layer.mergeAll(Query, Hello, Count, WordStats)

/** Friday on one machine: in-memory interrupts and sessions. */
export const Main = Friday.serve(Routes).pipe(
  Layer.provide(listen(8090)),
  Layer.provide(AgentApp.layerMemory), // embedded interrupts and sessions; no Redis needed
  Layer.provide(FridayAuth),
  Layer.provide(Toolbox.layer),
  // OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318: traces, metrics and logs over OTLP (nothing without it)
  Layer.provide(Telemetry.layer({ serviceName: "friday" }))
)

if (AgentApp.isMain(import.meta)) AgentApp.runMain(Main)
