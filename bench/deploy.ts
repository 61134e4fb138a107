/**
 * 11. The `agentapp` CLI: `agentapp deploy local` of the production bundle,
 * from the command to its return (it returns once `/readiness` answers),
 * against the bundle's own start to its first 200 on `/readiness` (target:
 * at most 2×), alternated; and the CPU of `agentapp --help` (target: under
 * 300 ms; no server code is loaded).
 */
import { execFileSync, spawn, spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import { percentile, root, round } from "./lib.ts"

const cli = path.join(root, "packages/deploy/bin/agentapp.ts")
const flags = ["--disable-warning=ExperimentalWarning"]

const freePort = () =>
  new Promise<number>((resolve) => {
    const probe = net.createServer().listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as net.AddressInfo
      probe.close(() => resolve(port))
    })
  })

const readyAt = async (url: string) => {
  while (!(await fetch(`${url}/readiness`).then((reply) => reply.status === 200, () => false))) {
    await new Promise((resolve) => setTimeout(resolve, 2))
  }
}

/** The bundle started by hand: process start → /readiness 200. */
const ownStart = async (bundle: string) => {
  const port = await freePort()
  const start = performance.now()
  const child = spawn(process.execPath, ["--no-allocation-site-pretenuring", bundle], {
    env: { ...process.env, PORT: String(port) },
    stdio: "ignore"
  })
  await readyAt(`http://127.0.0.1:${port}`)
  const ms = performance.now() - start
  const exited = new Promise((resolve) => child.once("exit", resolve))
  child.kill("SIGTERM")
  await exited
  return ms
}

/** `agentapp deploy local` of the bundle until it returns (ready), then `agentapp stop`. */
const deployed = (bundle: string, home: string) => async () => {
  const port = await freePort()
  const env = { ...process.env, AGENTAPP_HOME: home }
  const start = performance.now()
  execFileSync(process.execPath, [...flags, cli, "deploy", "local", bundle, "--port", String(port), "--name", "bench"], { env, stdio: "ignore" })
  const ms = performance.now() - start
  execFileSync(process.execPath, [...flags, cli, "stop", "bench"], { env, stdio: "ignore" })
  return ms
}

/** The CPU (user + system) of `agentapp --help`, as the process itself counts it at exit. */
const helpCpuMs = () => {
  const report = "data:text/javascript,process.on('exit',()=>{const u=process.cpuUsage();process.stderr.write('CPU '+(u.user+u.system)+'\\n')})"
  const output = spawnSync(process.execPath, [...flags, "--import", report, cli, "--help"], { stdio: ["ignore", "ignore", "pipe"] }).stderr.toString()
  return Number(/CPU (\d+)/.exec(output)![1]) / 1000
}

export const deployBench = async (quick: boolean) => {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), "agentapp-bench-"))
  const bundle = path.join(home, "main.mjs")
  try {
    execFileSync(process.execPath, [...flags, cli, "build", "examples/main.ts", "--out", bundle], { cwd: root, stdio: "ignore" })
    const n = quick ? 2 : 7
    const own: Array<number> = []
    const deploy: Array<number> = []
    for (let i = 0; i < n; i++) {
      own.push(await ownStart(bundle))
      deploy.push(await deployed(bundle, home)())
    }
    const help = Array.from({ length: n }, helpCpuMs)
    return {
      runs: n,
      bundle_start_ms: round(percentile(own, 50)),
      deploy_local_ms: round(percentile(deploy, 50)),
      deploy_ratio: round(percentile(deploy, 50) / percentile(own, 50), 2),
      help_cpu_ms: round(percentile(help, 50))
    }
  } finally {
    fs.rmSync(home, { recursive: true, force: true })
  }
}
