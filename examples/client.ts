/**
 * Consuming an agent from another Effect program, with the typed client:
 * it prints Friday's answer as it streams, then starts a long story and stops
 * it halfway by interrupting the stream (which stops the run on the server).
 *
 *   npm start                       # in one terminal
 *   npm run client                  # the agent at AGENT_URL, else http://HOST:PORT (127.0.0.1:8090)
 */
import { AgentClient, type Protocol } from "@agentapp/core"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Config, Console, Effect, Result, Stream } from "effect"

const ask = (text: string, sessionId: string): Protocol.AgentRequest => ({
  input: [{ role: "user", content: [{ type: "text", text }] }],
  session_id: sessionId
})

/** The text deltas of a run's answer (not its reasoning), as they arrive. */
const textOf = <E>(events: Stream.Stream<Protocol.Event, E>) =>
  Stream.suspend(() => {
    const answers = new Set<string>()
    return events.pipe(
      Stream.filterMap((event) => {
        if (event.object === "message" && event.type === "message") answers.add(event.id)
        return event.object === "content" && event.delta && event.type === "text" && answers.has(event.msg_id)
          ? Result.succeed(event.text)
          : Result.failVoid
      })
    )
  })

const program = Effect.gen(function*() {
  const agent = yield* AgentClient.AgentClient
  const session = `client-${crypto.randomUUID()}`

  yield* Console.log("> Hello Friday, my name is Ada")
  yield* textOf(agent.process(ask("Hello Friday, my name is Ada", session))).pipe(
    Stream.runForEach((text) => Effect.sync(() => process.stdout.write(text)))
  )
  yield* Console.log("\n")

  // a long story, cut off after 40 pieces of text: taking fewer interrupts the stream,
  // and the server stops the run (its state becomes STOPPED and the session is free)
  yield* Console.log("> Tell me a long story (stopping it halfway)")
  yield* textOf(agent.process(ask("Please tell me a long story", session))).pipe(
    Stream.take(40),
    Stream.runForEach((text) => Effect.sync(() => process.stdout.write(text)))
  )
  yield* Console.log("\n[stopped halfway]")

  // the session is free again at once
  const last = yield* agent.process(ask("What is my name?", session)).pipe(Stream.runLast)
  const answer = last._tag === "Some" && last.value.object === "response" ? last.value : undefined
  const message = answer?.output.at(-1)?.content?.[0]
  yield* Console.log(`> What is my name?\n${message && "text" in message ? message.text : ""}`)
})

/** The agent's URL: AGENT_URL, else the address `npm start` listens on (PORT and HOST, as the server reads them). */
const agentUrl = Config.String("AGENT_URL").pipe(
  Config.orElse(() =>
    Config.all({
      port: Config.Port("PORT").pipe(Config.withDefault(8090)),
      host: Config.String("HOST").pipe(Config.withDefault("127.0.0.1"))
    }).pipe(Config.map(({ host, port }) => `http://${host}:${port}`))
  )
)

Effect.gen(function*() {
  const url = yield* agentUrl
  yield* program.pipe(Effect.provide(AgentClient.layer({ url })))
}).pipe(
  Effect.catchTag("ClientError", (error) =>
    Effect.andThen(Console.error(error.message), Effect.sync(() => {
      process.exitCode = 1
    }))),
  NodeRuntime.runMain
)
