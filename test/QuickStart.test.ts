/**
 * The README's quick start, done the way a reader would: `npm start`, then
 * the README's own curl command.
 */
import { afterAll, describe, expect, it } from "vitest"
import { checkFridayHello, checkRun } from "./support/protocol.ts"
import { freePort, type ServerProcess, startServer, waitFor, within } from "./support/server.ts"
import { readmeShellBlocks, runShell, startShellStream } from "./support/shell.ts"
import { dataOf, parseFrames, postJson, userText } from "./support/sse.ts"

const shellBlocks = readmeShellBlocks()

let server: ServerProcess | undefined

/** A README command aimed at the test's server instead of port 8090. */
const onServer = (command: string) =>
  command.replace("127.0.0.1:8090", `127.0.0.1:${new URL(server!.url).port}`)
afterAll(async () => {
  server?.kill("SIGTERM")
  if (server) await within(10_000, "npm start to exit", server.exited)
})

describe("README quick start", () => {
  it("shows the two commands", () => {
    expect(shellBlocks).toContain("npm ci && npm start")
    expect(shellBlocks).toContain("npm ci && npm test")
  })

  it("npm start serves Friday, and the README's curl command streams a whole run", async () => {
    const curl = shellBlocks.find((block) => block.startsWith("curl -N"))
    expect(curl, "the README has a curl -N command").toBeDefined()
    expect(curl).toContain("http://127.0.0.1:8090/process")

    // the README's port, made free for the test; the command is otherwise run as written
    server = await startServer("npm", ["start", "--silent"], { env: { FRIDAY_DELAY_MS: "5" } })
    const stdout = await runShell(onServer(curl!))

    const events = dataOf(parseFrames(stdout))
    // Friday shows every kind of event: reasoning, a tool call, its result, the answer
    checkFridayHello(events)
    expect(events.some((event) => event.object === "content" && event.delta === true)).toBe(true)

    // the lifespan of the example was acquired before it listened
    const output = server.output()
    expect(output.indexOf("Toolbox: initializing resources")).toBeLessThan(output.indexOf("Listening on"))
  })

  it("Friday remembers: the second turn of a session recalls the name given in the first", async () => {
    expect(server).toBeDefined()
    const turn = async (text: string) => {
      const response = await postJson(`${server!.url}/process`, userText(text, { session_id: "friday-memory" }))
      return checkRun(dataOf(parseFrames(await response.text())))
    }
    const first = await turn("Hi, my name is Ada")
    expect(first.output.at(-1).content[0].text).toContain("Nice to meet you, Ada!")
    const second = await turn("What is my name?")
    expect(second.output.at(-1).content[0].text).toContain("Your name is Ada")
    expect(second.output[0].content[0].text).toContain("the user's name is Ada")
    // another session knows nothing of it
    const response = await postJson(`${server!.url}/process`, userText("What is my name?"))
    const stranger = checkRun(dataOf(parseFrames(await response.text())))
    expect(stranger.output.at(-1).content[0].text).not.toContain("Ada")
  })

  it("the streaming endpoint answers curl on the default keep-alive (it sent an empty reply)", async () => {
    expect(server).toBeDefined()
    const count = shellBlocks.find((block) => block.startsWith("curl") && block.includes("/count?to=3"))
    expect(count, "the README shows the /count endpoint with curl").toBeDefined()
    const stdout = await runShell(onServer(count!))
    expect(dataOf(parseFrames(stdout))).toEqual(["number: 1", "number: 2", "number: 3"])
  })

  it("the two-terminal stop walk-through works as the README says", async () => {
    expect(server).toBeDefined()
    const long = shellBlocks.find((block) => block.startsWith("curl -N") && block.includes("ss-123"))
    const stop = shellBlocks.find((block) => block.includes("/stop"))
    expect(long).toBeDefined()
    expect(stop).toBeDefined()

    // terminal 1: the long run, printing as it streams; terminal 2: the stop
    const terminal1 = startShellStream(onServer(long!))
    await terminal1.streaming
    expect(JSON.parse(await runShell(onServer(stop!)))).toEqual({
      status: "success",
      message: "Interrupt signal broadcasted."
    })
    const last = checkRun(dataOf(parseFrames(await terminal1.ended)))
    expect(last.status).toBe("canceled")
    expect(last.session_id).toBe("ss-123")
    await server!.waitForOutput("story interrupted, state saved", 5_000)
  })

  it("the README's task walk-through works as written", async () => {
    expect(server).toBeDefined()
    const submitCommand = shellBlocks.find((block) => block.includes("POST") && block.includes("/tasks/word_stats"))
    const statusCommand = shellBlocks.find((block) => block.includes("/tasks/word_stats/<task_id>"))
    expect(submitCommand).toBeDefined()
    expect(statusCommand).toBeDefined()
    const submitted = JSON.parse(await runShell(onServer(submitCommand!)))
    expect(submitted).toMatchObject({ status: "submitted", queue: "default" })
    let status: any
    await waitFor("the task to finish", async () => {
      status = JSON.parse(await runShell(onServer(statusCommand!).replace("<task_id>", submitted.task_id)))
      return status.status === "finished"
    })
    expect(status).toMatchObject({ status: "finished", result: { words: 4, characters: 22 } })
  })

  it("npm run client consumes Friday with the typed client and stops a story halfway", async () => {
    expect(server).toBeDefined()
    const stdout = await runShell("npm run --silent client", { AGENT_URL: server!.url })
    expect(stdout).toContain("Nice to meet you, Ada!")
    expect(stdout).toContain("Chapter 1.")
    expect(stdout).toContain("[stopped halfway]")
    expect(stdout).not.toContain("Chapter 12.")
    expect(stdout).toContain("Your name is Ada")
    await server!.waitForOutput("story interrupted, state saved", 5_000)
  })

  it("npm run client finds the server by PORT as npm start does, and says what failed when nothing answers", async () => {
    expect(server).toBeDefined()
    const port = new URL(server!.url).port
    const stdout = await runShell("npm run --silent client", { PORT: port })
    expect(stdout).toContain("Nice to meet you, Ada!")
    const free = await freePort()
    const nobody = await runShell(`PORT=${free} npm run --silent client 2>&1; echo "exit $?"`)
    expect(nobody).toContain(`The agent at http://127.0.0.1:${free}/rpc failed to answer`)
    expect(nobody).toContain("ECONNREFUSED")
    expect(nobody).toContain("exit 1")
  })

  it("a bad PORT or FRIDAY_DELAY_MS stops npm start at once with a message naming it", async () => {
    for (const [name, value] of [["PORT", "abc"], ["PORT", "99999"], ["FRIDAY_DELAY_MS", "soon"]]) {
      const output = await runShell(`${name}=${value} npm start --silent 2>&1; echo "exit $?"`)
      expect(output, output).toContain(name)
      expect(output).toMatch(/exit [1-9]/)
      expect(output).not.toContain("Listening on")
    }
  })

  it("npm start stops cleanly on SIGTERM, releasing the lifespan", async () => {
    expect(server).toBeDefined()
    server!.kill("SIGTERM")
    // npm relays the signal to the app and ends itself by that signal at once; the app shuts down
    // after it (its own exit code is checked in Shutdown.test.ts), so wait for its output to close
    await within(10_000, "the app to close its output", server!.closed)
    expect(server!.output()).toContain("Toolbox: cleaning up resources")
    server = undefined
  })
})
