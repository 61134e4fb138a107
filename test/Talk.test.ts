/**
 * `agentapp invoke` and `agentapp chat` against `npm start`, driven through a
 * pseudo-terminal (util-linux `script`), as a user types: the answer streams,
 * Ctrl-C stops the run on the server, the chat keeps its session across turns.
 */
import { spawn } from "node:child_process"
import { describe, expect, it } from "vitest"
import { repoRoot, startServer, useFriday, waitFor, within } from "./support/server.ts"
import { readmeShellBlocks, runShell } from "./support/shell.ts"

const server = useFriday()

const quote = (arg: string) => `'${arg.replaceAll("'", "'\\''")}'`

/** The CLI in a pseudo-terminal: what it printed so far, keys to type, and its exit code. */
const inTerminal = (...args: Array<string>) => {
  // `exec`: script runs the command through $SHELL, and dash (CI's /bin/sh) does not exec it by itself but
  // stays in the terminal's process group, takes the Ctrl-C too and exits 130 after the CLI exits 0
  const command = "exec " + [process.execPath, "--disable-warning=ExperimentalWarning", "packages/deploy/bin/agentapp.ts", ...args].map(quote).join(" ")
  const child = spawn("script", ["-qfec", command, "/dev/null"], { cwd: repoRoot, stdio: ["pipe", "pipe", "pipe"] })
  let printed = ""
  child.stdout.on("data", (chunk: Buffer) => (printed += chunk.toString()))
  child.stderr.on("data", (chunk: Buffer) => (printed += chunk.toString()))
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)))
  return {
    printed: () => printed,
    type: (keys: string) => child.stdin.write(keys),
    waitFor: (text: string, ms = 15_000) => waitFor(`the terminal to show ${JSON.stringify(text)}`, async () => printed.includes(text), ms, 20),
    exited
  }
}

const activeRuns = () => fetch(`${server.url}/health`).then((reply) => reply.json()).then((body: any) => body.active_runs as number)

describe("agentapp invoke and chat, in a terminal", () => {
  it("invoke streams the answer, the tool call dimmed", async () => {
    const terminal = inTerminal("invoke", server.url, "Hello Friday")
    expect(await within(15_000, "invoke to exit", terminal.exited)).toBe(0)
    expect(terminal.printed()).toContain("Hello, I am Friday! Your message has 2 words and 12 characters.")
    expect(terminal.printed()).toContain("\x1b[2m→ word_stats(")
  })

  it("invoke takes the typed client where the server lists /rpc, and SSE where it has none", async () => {
    for (const mode of ["rpc-only", "sse-only"]) {
      const app = await startServer(process.execPath, ["--disable-warning=ExperimentalWarning", "test/fixtures/TalkApp.ts"], { env: { MODE: mode } })
      try {
        const terminal = inTerminal("invoke", app.url, "hi")
        expect(await within(15_000, "invoke to exit", terminal.exited), terminal.printed()).toBe(0)
        expect(terminal.printed()).toContain(`hello over ${mode}`)
      } finally {
        app.kill("SIGTERM")
        await within(10_000, "the app to exit", app.exited)
      }
    }
  })

  it("the README's invoke command works as written", async () => {
    const block = readmeShellBlocks().find((text) => text.includes("agentapp invoke"))
    expect(block, "the README has an invoke command").toBeDefined()
    const output = await runShell(block!.replace("127.0.0.1:8090", `127.0.0.1:${new URL(server.url).port}`))
    expect(output).toContain("Hello, I am Friday!")
  })

  it("Ctrl-C during invoke stops the run on the server: (stopped), exit code 130", async () => {
    const terminal = inTerminal("invoke", server.url, "Tell me a long story", "--session", "pty-story")
    await terminal.waitFor("Chapter 1.")
    terminal.type("\x03")
    expect(await within(10_000, "invoke to exit", terminal.exited)).toBe(130)
    expect(terminal.printed()).toContain("(stopped)")
    expect(terminal.printed()).not.toContain("Chapter 12.")
    await waitFor("no active run", async () => (await activeRuns()) === 0)
  })

  it("chat keeps one session over turns; Ctrl-C stops an answer and the chat goes on; Ctrl-D leaves", async () => {
    const terminal = inTerminal("chat", server.url)
    await terminal.waitFor("> ")
    terminal.type("My name is Ada\r")
    await terminal.waitFor("Nice to meet you, Ada!")
    terminal.type("Tell me a long story\r")
    await terminal.waitFor("Chapter 1.")
    terminal.type("\x03")
    await terminal.waitFor("(stopped)")
    terminal.type("Who am I?\r")
    await terminal.waitFor("Your name is Ada, I remember you.")
    terminal.type("\x04")
    expect(await within(10_000, "chat to exit", terminal.exited), terminal.printed()).toBe(0)
  })
})
