/**
 * Graceful shutdown of a real server process: SIGTERM during active streams.
 */
import { afterEach, describe, expect, it } from "vitest"
import { checkRun } from "./support/protocol.ts"
import { nodeBin, type ServerProcess, startServer, within } from "./support/server.ts"
import { dataOf, postJson, readStream, userText } from "./support/sse.ts"

const fixture = "packages/core/test/fixtures/TestApp.ts"
const nodeArgs = ["--disable-warning=ExperimentalWarning", fixture]
let server: ServerProcess | undefined

afterEach(() => {
  server?.kill("SIGKILL")
  server = undefined
})

/** Starts a stream and resolves once its first event has arrived. */
const startStream = (url: string, body: unknown) => {
  const first = Promise.withResolvers<void>()
  const done = postJson(`${url}/process`, body).then((response) => readStream(response, () => first.resolve()))
  return { first: first.promise, done }
}

describe("SIGTERM", () => {
  it("lets an in-flight stream finish within the grace period, turns readiness 503, then exits 0", async () => {
    server = await startServer(nodeBin, nodeArgs, { env: { GRACE_MS: "10000" } })
    const { url } = server
    expect((await fetch(`${url}/readiness`)).status).toBe(200)

    const run = startStream(url, userText("x", { mode: "slow", count: 15, interval_ms: 100 }))
    await run.first
    server.kill("SIGTERM")
    await server.waitForOutput("waiting for 1 run(s) to finish")

    // draining: not ready, and no new runs, while the old one goes on
    const readiness = await fetch(`${url}/readiness`)
    expect(readiness.status).toBe(503)
    expect(await readiness.json()).toEqual({ status: "not_ready", reason: "draining" })
    const refused = await postJson(`${url}/process`, userText("late"))
    expect(refused.status).toBe(503)
    expect(((await refused.json()) as any).error.code).toBe("shutting_down")
    expect((await fetch(`${url}/liveness`)).status).toBe(200)

    const last = checkRun(dataOf(await within(10_000, "the stream", run.done)))
    expect(last.status).toBe("completed")
    expect(last.output[0].content[0].text.split(" ").filter(Boolean)).toHaveLength(15)

    // the stream's keep-alive connection does not hold the shutdown up once its run has ended
    const exit = await within(2_000, "process exit after the last run", server.exited)
    expect(exit).toEqual({ code: 0, signal: null })
    const output = server.output()
    expect(output.indexOf("lifespan: released")).toBeGreaterThan(output.indexOf("waiting for 1 run(s)"))
  })

  it("cancels streams still running after the grace period with a terminal response canceled, and exits 0", async () => {
    server = await startServer(nodeBin, nodeArgs, { env: { GRACE_MS: "300" } })
    const runs = [0, 1, 2].map(() => startStream(server!.url, userText("x", { mode: "endless", interval_ms: 20 })))
    await Promise.all(runs.map((run) => run.first))
    const signalled = Date.now()
    server.kill("SIGTERM")

    for (const run of runs) {
      const events = dataOf(await within(10_000, "the canceled stream", run.done))
      const last = checkRun(events)
      expect(last.status).toBe("canceled")
      expect(last.output[0].status).toBe("incomplete")
    }
    const exit = await within(10_000, "process exit", server.exited)
    expect(exit).toEqual({ code: 0, signal: null })
    // it waited for the grace period, not much longer
    const elapsed = Date.now() - signalled
    expect(elapsed).toBeGreaterThanOrEqual(300)
    expect(server.output()).toContain("lifespan: released")
  })

  it("exits 0 at once when idle", async () => {
    server = await startServer(nodeBin, nodeArgs, { env: { GRACE_MS: "30000" } })
    server.kill("SIGINT")
    expect(await within(5_000, "process exit", server.exited)).toEqual({ code: 0, signal: null })
  })
})
