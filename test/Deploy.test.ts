/**
 * The `agentapp` CLI and `Deploy.local`, with real processes: `--help`, a
 * local deployment of Friday (ready, listed, its status and logs), a second
 * deploy of the same name and one on a busy port refused, a stop that lets
 * the run in flight end and closes the port, a stale entry cleaned up, an app
 * that cannot start reported with its log, and the programmatic form.
 */
import { Deploy } from "@agentapp/deploy"
import { Effect } from "effect"
import { execFile, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { promisify } from "node:util"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { checkRun } from "./support/protocol.ts"
import { freePort, repoRoot, startServer, waitFor, within } from "./support/server.ts"
import { readmeShellBlocks, runShell } from "./support/shell.ts"
import { dataOf, postJson, readStream, userText } from "./support/sse.ts"

let home: string

beforeAll(() => {
  home = fs.mkdtempSync(path.join(os.tmpdir(), "agentapp-home-"))
})

afterAll(async () => {
  // nothing a failed test started is left running
  const state = path.join(home, "deployments.json")
  if (fs.existsSync(state)) {
    for (const deployment of JSON.parse(fs.readFileSync(state, "utf8")).deployments) {
      try {
        process.kill(-deployment.pid, "SIGKILL")
      } catch {
        // gone
      }
    }
  }
  fs.rmSync(home, { recursive: true, force: true })
})

const env = () => ({ ...process.env, AGENTAPP_HOME: home, FRIDAY_DELAY_MS: "5" })

/** Runs the CLI to its end: its exit code and what it printed. */
const cli = (...args: Array<string>) =>
  promisify(execFile)(process.execPath, ["--disable-warning=ExperimentalWarning", "packages/deploy/bin/agentapp.ts", ...args], {
    cwd: repoRoot,
    env: env(),
    timeout: 60_000
  }).then(
    ({ stderr, stdout }) => ({ code: 0, stdout, stderr }),
    (error: { code: number; stdout: string; stderr: string }) => ({ code: error.code, stdout: error.stdout, stderr: error.stderr })
  )

const closed = (url: string) => fetch(`${url}/health`).then(() => false, () => true)

describe("agentapp", () => {
  it("npx agentapp --help lists the commands", async () => {
    const { stdout } = await promisify(execFile)("npx", ["agentapp", "--help"], { cwd: repoRoot, env: env() })
    for (const command of ["run", "build", "deploy", "list", "status", "logs", "stop"]) expect(stdout).toMatch(new RegExp(`\\n  ${command}\\s`))
  })

  it("deploys Friday locally: ready, listed, status and logs; a second deploy and a busy port are refused; stop drains and closes the port", async () => {
    const port = await freePort()
    const deployed = await cli("deploy", "local", "examples/main.ts", "--port", String(port), "--name", "friday")
    expect(deployed.code, deployed.stderr).toBe(0)
    const url = `http://127.0.0.1:${port}`
    expect(deployed.stdout).toContain(`friday is ready at ${url}`)
    expect((await fetch(`${url}/readiness`)).status).toBe(200)

    const listed = await cli("list")
    expect(listed.stdout).toMatch(new RegExp(`^friday\\t${url}\\tpid \\d+`, "m"))
    const status = JSON.parse((await cli("status", "friday")).stdout)
    expect(status).toMatchObject({ name: "friday", url, port, health: { status: "healthy" } })
    expect((await cli("logs", "friday")).stdout).toContain(`Listening on ${url}`)
    // logs -f goes on printing what the app writes: a story whose client leaves logs its interruption
    const follower = spawn(process.execPath, ["--disable-warning=ExperimentalWarning", "packages/deploy/bin/agentapp.ts", "logs", "friday", "-f"], {
      cwd: repoRoot,
      env: env()
    })
    let followed = ""
    follower.stdout.on("data", (chunk: Buffer) => (followed += chunk.toString()))
    await waitFor("logs -f to print the log", async () => followed.includes("Listening on"))
    const short = await postJson(`${url}/process`, userText("Tell me a long story"))
    await short.body?.cancel()
    await waitFor("logs -f to print what came after", async () => followed.includes("story interrupted"))
    follower.kill("SIGINT")

    const again = await cli("deploy", "local", "examples/main.ts", "--port", String(port), "--name", "friday")
    expect(again.code).toBe(1)
    expect(again.stderr).toContain("friday is already running")
    const busy = await cli("deploy", "local", "examples/main.ts", "--port", String(port), "--name", "other")
    expect(busy.code).toBe(1)
    expect(busy.stderr).toContain(`Port ${port} on 127.0.0.1 is in use`)

    // a run in flight when the stop comes ends within the grace period, completed or canceled
    const story = await postJson(`${url}/process`, userText("Tell me a long story"))
    let started!: () => void
    const streaming = new Promise<void>((resolve) => (started = resolve))
    const frames = readStream(story, () => started())
    await within(10_000, "the story to stream", streaming)
    const stopped = await cli("stop", "friday")
    expect(stopped.code, stopped.stderr).toBe(0)
    expect(["completed", "canceled"]).toContain(checkRun(dataOf(await within(15_000, "the story to end", frames))).status)
    expect(await closed(url)).toBe(true)
    expect((await cli("list")).stdout).toContain("No deployment is running")
  })

  it("the README's deploy commands work as written", async () => {
    const block = readmeShellBlocks().find((text) => text.includes("agentapp deploy local"))
    expect(block, "the README has the deploy commands").toBeDefined()
    const port = await freePort()
    const output = await runShell(block!.replaceAll("8090", String(port)), { AGENTAPP_HOME: home })
    expect(output).toContain(`friday is ready at http://127.0.0.1:${port}`)
    expect(output).toContain("friday stopped")
    expect(await closed(`http://127.0.0.1:${port}`)).toBe(true)
  })

  it("agentapp run serves the app in the foreground and passes a SIGTERM on; agentapp build writes a bundle that serves", async () => {
    const running = await startServer(process.execPath, ["--disable-warning=ExperimentalWarning", "packages/deploy/bin/agentapp.ts", "run", "examples/main.ts"])
    expect((await fetch(`${running.url}/health`)).status).toBe(200)
    running.kill("SIGTERM")
    expect((await within(15_000, "agentapp run to exit", running.exited)).code).toBe(0)

    const out = path.join(home, "bundle", "friday.mjs")
    const built = await cli("build", "examples/main.ts", "--out", out)
    expect(built.code, built.stderr).toBe(0)
    expect(built.stdout).toContain(`Wrote ${out}`)
    // Node's own modules are required: the banner's node:module is the bundle's one import
    expect(fs.readFileSync(out, "utf8").match(/^import .*$/gm)).toEqual([expect.stringContaining("from 'node:module'")])
    // the compile cache the build wrote beside it is taken as it is by a start with the flags it printed
    const cache = path.join(path.dirname(out), ".node-compile-cache")
    expect(built.stdout).toContain(`NODE_COMPILE_CACHE=${cache} node ${Deploy.runtimeFlags.join(" ")} ${out}`)
    const bundle = await startServer(process.execPath, [...Deploy.nodeFlags.slice(1), out], {
      env: { NODE_COMPILE_CACHE: cache, NODE_DEBUG_NATIVE: "COMPILE_CACHE" }
    })
    await bundle.waitForOutput(/cache for file:\S*friday\.mjs was accepted/)
    expect((await fetch(`${bundle.url}/health`)).status).toBe(200)
    bundle.kill("SIGTERM")
    await within(15_000, "the bundle to exit", bundle.exited)
  })

  it("agentapp build: in the bundle only the entry is main (an entry that imports another app's entry starts one app)", async () => {
    const folder = path.join(home, "two-entries")
    fs.mkdirSync(folder, { recursive: true })
    fs.writeFileSync(path.join(folder, "other.ts"), "const meta: { main?: boolean } = import.meta\nexport const other = [import.meta.main, meta.main, import.meta.url.startsWith('file:')]\n")
    fs.writeFileSync(path.join(folder, "entry.ts"), "import { other } from './other.ts'\nconsole.log(JSON.stringify({ other, entry: import.meta.main }))\n")
    const out = path.join(folder, "entry.mjs")
    const built = await cli("build", path.join(folder, "entry.ts"), "--out", out)
    expect(built.code, built.stderr).toBe(0)
    const { stdout } = await promisify(execFile)(process.execPath, [out])
    expect(JSON.parse(stdout)).toEqual({ other: [false, false, true], entry: true })
  })

  it("stop kills an app that ignores SIGTERM once the grace is over", async () => {
    const stubborn = path.join(home, "stubborn.mjs")
    fs.writeFileSync(stubborn, "import { createServer } from 'node:http'\nprocess.on('SIGTERM', () => console.log('ignoring SIGTERM'))\ncreateServer((_, reply) => reply.end('ok')).listen(Number(process.env.PORT), process.env.HOST)\n")
    const port = await freePort()
    expect((await cli("deploy", "local", stubborn, "--port", String(port))).code).toBe(0)
    const stopped = await cli("stop", "stubborn", "--grace", "1")
    expect(stopped.code, stopped.stderr).toBe(0)
    expect(await closed(`http://127.0.0.1:${port}`)).toBe(true)
    // it got the SIGTERM, went on, and was killed
    expect(fs.readFileSync(path.join(home, "logs", "stubborn.log"), "utf8")).toContain("ignoring SIGTERM")
  })

  it("cleans up the entry of a deployment whose process is gone", async () => {
    const state = path.join(home, "deployments.json")
    const dead = { name: "ghost", entry: "x.ts", url: "http://127.0.0.1:1", host: "127.0.0.1", port: 1, pid: 2 ** 22 + 1, log: "x.log", startedAt: "" }
    fs.writeFileSync(state, JSON.stringify({ deployments: [dead] }))
    expect((await cli("list")).stdout).toContain("No deployment is running")
    expect(JSON.parse(fs.readFileSync(state, "utf8")).deployments).toEqual([])
    const status = await cli("status", "ghost")
    expect(status.code).toBe(1)
    expect(status.stderr).toContain("No deployment named ghost")
  })

  it("reports an app that cannot start, or is not ready in time, with the end of its log, and leaves no entry", async () => {
    const broken = path.join(home, "broken.ts")
    fs.writeFileSync(broken, "console.log('starting'); throw new Error('no model configured')\n")
    const result = await cli("deploy", "local", broken, "--port", String(await freePort()))
    expect(result.code).toBe(1)
    expect(result.stderr).toContain("broken exited")
    expect(result.stderr).toContain("no model configured")
    expect((await cli("list")).stdout).toContain("No deployment is running")
    // one that listens but never becomes ready: refused after --timeout, its process stopped
    const unready = path.join(home, "unready.mjs")
    fs.writeFileSync(unready, "import { createServer } from 'node:http'\nconsole.log('warming up')\ncreateServer((_, reply) => { reply.statusCode = 503; reply.end() }).listen(Number(process.env.PORT), process.env.HOST)\n")
    const port = await freePort()
    const late = await cli("deploy", "local", unready, "--port", String(port), "--timeout", "1")
    expect(late.code).toBe(1)
    expect(late.stderr).toContain("unready was not ready in time")
    expect(late.stderr).toContain("warming up")
    expect(await closed(`http://127.0.0.1:${port}`)).toBe(true)
    const missing = await cli("deploy", "local", "no/such/app.ts")
    expect(missing.code).toBe(1)
    expect(missing.stderr).toContain("No app at no/such/app.ts")
  })

  it("Deploy.local gives the URL and an Effect that stops it", async () => {
    process.env.AGENTAPP_HOME = home
    const port = await freePort()
    const deployment = await Effect.runPromise(Deploy.local({ entry: path.join(repoRoot, "examples/main.ts"), port, name: "programmatic" }))
    expect(deployment.url).toBe(`http://127.0.0.1:${port}`)
    expect((await fetch(`${deployment.url}/health`)).status).toBe(200)
    expect((await Effect.runPromise(Deploy.list)).map((entry) => entry.name)).toEqual(["programmatic"])
    await Effect.runPromise(deployment.stop)
    expect(await closed(deployment.url)).toBe(true)
    expect(await Effect.runPromise(Deploy.list)).toEqual([])
  })
})
