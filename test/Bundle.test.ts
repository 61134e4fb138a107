/**
 * The production start of the README: `npm run build` bundles Friday into
 * one file, and `npm run start:prod` serves it, replying as `npm start` does.
 */
import { existsSync, readFileSync, rmSync } from "node:fs"
import * as path from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { checkFridayHello } from "./support/protocol.ts"
import { repoRoot, type ServerProcess, startServer, within } from "./support/server.ts"
import { readmeShellBlocks, runShell } from "./support/shell.ts"
import { dataOf, parseFrames, postJson, userText } from "./support/sse.ts"

let server: ServerProcess | undefined
afterAll(async () => {
  server?.kill("SIGTERM")
  if (server) await within(10_000, "the bundle to exit", server.exited)
})

describe("production bundle", () => {
  it("npm run build && npm run start:prod serves Friday from one file", async () => {
    expect(readmeShellBlocks().some((block) => block.includes("npm run build && npm run start:prod"))).toBe(true)
    // start:prod runs with the V8 flag that the README advises for a server
    expect(readmeShellBlocks().some((block) => block.includes("node --no-allocation-site-pretenuring dist/main.mjs")))
      .toBe(true)
    const scripts = JSON.parse(readFileSync(path.join(repoRoot, "package.json"), "utf8")).scripts
    expect(scripts["start:prod"]).toContain("--no-allocation-site-pretenuring")
    const bundle = path.join(repoRoot, "dist", "main.mjs")
    rmSync(bundle, { force: true })
    await runShell("npm run --silent build")
    expect(existsSync(bundle)).toBe(true)

    // and with the compile cache the build wrote beside the bundle, as the README says
    server = await startServer("npm", ["run", "--silent", "start:prod"], { env: { FRIDAY_DELAY_MS: "0", NODE_DEBUG_NATIVE: "COMPILE_CACHE" } })
    await server.waitForOutput(/cache for file:\S*dist\/main\.mjs was accepted/)
    const ready = await fetch(`${server.url}/readiness`)
    expect(ready.status).toBe(200)
    const response = await postJson(`${server.url}/process`, userText("Hello Friday"))
    checkFridayHello(dataOf(parseFrames(await response.text())))

    server.kill("SIGTERM")
    await within(10_000, "the bundle to shut down", server.closed)
    expect(server.output()).toContain("Toolbox: cleaning up resources")
    server = undefined
  })

  it("refuses an older Node.js with a message and exit 1 (it exited 0 silently on Node 20)", async () => {
    const bundle = path.join(repoRoot, "dist", "main.mjs")
    expect(existsSync(bundle)).toBe(true)
    // the machine's own node when it is older; otherwise Node 22 made to report an old version
    const older = await runShell("command -v node >/dev/null && node -e 'process.stdout.write(process.version)' || true", {
      PATH: (process.env.PATH ?? "").split(":").filter((dir) => !dir.includes("node_modules")).join(":")
    })
    const fake = "data:text/javascript,Object.defineProperty(process.versions,'node',{value:'20.20.2'})"
    const command = /^v(1\d|20|21|22\.(\d|1[0-7])\.)/.test(older)
      ? `PATH=${JSON.stringify((process.env.PATH ?? "").split(":").filter((dir) => !dir.includes("node_modules")).join(":"))} node dist/main.mjs`
      : `${JSON.stringify(process.execPath)} --import ${JSON.stringify(fake)} dist/main.mjs`
    const output = await runShell(`${command} 2>&1; echo "exit $?"`)
    expect(output).toContain("agentapp needs Node.js 22.18.0 or newer")
    expect(output).toContain("exit 1")
    const engines = JSON.parse(readFileSync(path.join(repoRoot, "package.json"), "utf8")).engines
    expect(engines.node).toBe(">=22.18.0")
  })
})
