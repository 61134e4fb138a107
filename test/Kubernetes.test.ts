/**
 * `agentapp deploy kubernetes`: every manifest it writes validates against
 * the Kubernetes schemas (no cluster needed), with the probes, grace period,
 * GC flag and Secret references the README promises; the Dockerfile's
 * runtime command serves the bundle `agentapp build` writes; `--dry-run`
 * prints; `--apply` without kubectl says so.
 */
import { execFile } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { promisify } from "node:util"
import { Deployment } from "kubernetes-models/apps/v1/Deployment"
import { HorizontalPodAutoscaler } from "kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler"
import { PodDisruptionBudget } from "kubernetes-models/policy/v1/PodDisruptionBudget"
import { Service } from "kubernetes-models/v1/Service"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { parse } from "yaml"
import { repoRoot, startServer, within } from "./support/server.ts"
import { readmeShellBlocks, runShell } from "./support/shell.ts"

let out: string

beforeAll(() => {
  out = fs.mkdtempSync(path.join(os.tmpdir(), "agentapp-k8s-"))
})

afterAll(() => fs.rmSync(out, { recursive: true, force: true }))

const cli = (args: ReadonlyArray<string>, env: NodeJS.ProcessEnv = process.env) =>
  promisify(execFile)(process.execPath, ["--disable-warning=ExperimentalWarning", "packages/deploy/bin/agentapp.ts", ...args], {
    cwd: repoRoot,
    env,
    timeout: 60_000
  }).then(
    ({ stderr, stdout }) => ({ code: 0, stdout, stderr }),
    (error: { code: number; stdout: string; stderr: string }) => ({ code: error.code, stdout: error.stdout, stderr: error.stderr })
  )

const kinds = { Deployment, Service, PodDisruptionBudget, HorizontalPodAutoscaler } as const

/** Each manifest in a folder, parsed and validated against its kind's schema. */
const manifests = (folder: string) =>
  Object.fromEntries(fs.readdirSync(path.join(folder, "k8s")).map((file) => {
    const doc = parse(fs.readFileSync(path.join(folder, "k8s", file), "utf8"))
    const Model = kinds[doc.kind as keyof typeof kinds]
    expect(Model, `${file}: a known kind`).toBeDefined()
    new Model(doc).validate()
    return [file, doc]
  }))

describe("agentapp deploy kubernetes", () => {
  it("writes a Dockerfile and manifests that validate: probes, grace above the drain, resources, one GC thread on one core", async () => {
    const folder = path.join(out, "memory")
    const result = await cli(["deploy", "kubernetes", "examples/main.ts", "--image", "registry.example.com/friday:1.0", "--replicas", "3", "--out", folder])
    expect(result.code, result.stderr).toBe(0)
    const docs = manifests(folder)
    expect(Object.keys(docs).sort()).toEqual(["deployment.yaml", "hpa.yaml", "pdb.yaml", "service.yaml"])
    const pod = docs["deployment.yaml"].spec.template.spec
    const container = pod.containers[0]
    expect(docs["deployment.yaml"].spec.replicas).toBe(3)
    expect(container.image).toBe("registry.example.com/friday:1.0")
    expect(container.readinessProbe.httpGet).toEqual({ path: "/readiness", port: "http" })
    expect(container.livenessProbe.httpGet).toEqual({ path: "/liveness", port: "http" })
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(10)
    expect(container.resources.limits).toEqual({ cpu: "1", memory: "512Mi" })
    expect(container.command).toContain("--single-threaded-gc")
    expect(container.env).toContainEqual({ name: "PORT", value: "8090" })
    expect(docs["hpa.yaml"].spec).toMatchObject({ minReplicas: 3, maxReplicas: 9, scaleTargetRef: { name: "main" } })
    expect(docs["service.yaml"].spec.selector).toEqual(docs["deployment.yaml"].spec.selector.matchLabels)
    expect(fs.readFileSync(path.join(folder, ".dockerignore"), "utf8")).toContain("node_modules")

    const two = path.join(out, "two-cores")
    await cli(["deploy", "kubernetes", "--image", "x/y:1", "--cpu", "2", "--grace", "30", "--out", two])
    const wide = manifests(two)["deployment.yaml"].spec.template.spec
    expect(wide.containers[0].command).not.toContain("--single-threaded-gc")
    expect(wide.terminationGracePeriodSeconds).toBe(35)
  })

  it("with Redis: the URL from a Secret (never written to a file), ROLE=api, and a worker Deployment", async () => {
    const folder = path.join(out, "redis")
    const url = "redis://:s3cret-password@redis.internal:6379"
    const result = await cli(["deploy", "kubernetes", "examples/distributed.ts", "--image", "x/friday:2", "--redis-url", url, "--out", folder])
    expect(result.code, result.stderr).toBe(0)
    expect(result.stdout).toContain("kubectl create secret generic distributed-redis --from-literal=url=")
    expect(result.stdout).not.toContain("s3cret")
    const docs = manifests(folder)
    for (const file of [...fs.readdirSync(path.join(folder, "k8s")).map((name) => path.join("k8s", name)), "Dockerfile"]) {
      expect(fs.readFileSync(path.join(folder, file), "utf8"), file).not.toContain("s3cret")
    }
    const api = docs["deployment.yaml"].spec.template.spec.containers[0]
    expect(api.env).toContainEqual({ name: "ROLE", value: "api" })
    expect(api.env).toContainEqual({ name: "REDIS_URL", valueFrom: { secretKeyRef: { name: "distributed-redis", key: "url" } } })
    const worker = docs["worker.yaml"]
    expect(worker.metadata.name).toBe("distributed-worker")
    expect(worker.spec.template.spec.containers[0].command.at(-1)).toBe("dist/worker.mjs")
    expect(fs.readFileSync(path.join(folder, "Dockerfile"), "utf8")).toContain("npx agentapp build examples/worker.ts --out dist/worker.mjs")
  })

  it("the Dockerfile's runtime command serves the bundle agentapp build writes", async () => {
    const folder = path.join(out, "runtime")
    await cli(["deploy", "kubernetes", "examples/main.ts", "--image", "x/friday:1", "--out", folder])
    const dockerfile = fs.readFileSync(path.join(folder, "Dockerfile"), "utf8")
    expect(dockerfile).toContain("RUN npx agentapp build examples/main.ts --out dist/app.mjs")
    expect(dockerfile).toMatch(/^USER node$/m)
    const command: Array<string> = JSON.parse(/^CMD (.*)$/m.exec(dockerfile)![1])
    const built = await cli(["build", "examples/main.ts", "--out", path.join(folder, "dist/app.mjs")])
    expect(built.code, built.stderr).toBe(0)
    expect(command[0]).toBe("node")
    // run as the image does, from its working folder, with the bundle and the compile cache its ENV names
    const cache = /^ENV NODE_COMPILE_CACHE=\/app\/(.*)$/m.exec(dockerfile)![1]
    const app = await startServer(process.execPath, command.slice(1).map((arg) => arg === "dist/app.mjs" ? path.join(folder, arg) : arg), {
      env: { NODE_COMPILE_CACHE: path.join(folder, cache), NODE_DEBUG_NATIVE: "COMPILE_CACHE" }
    })
    await app.waitForOutput(/cache for file:\S*app\.mjs was accepted/)
    expect((await fetch(`${app.url}/health`)).status).toBe(200)
    app.kill("SIGTERM")
    expect((await within(15_000, "the bundle to exit", app.exited)).code).toBe(0)
  })

  it("--dry-run prints the files; --apply without kubectl says so", async () => {
    const printed = await cli(["deploy", "kubernetes", "--image", "x/y:1", "--dry-run"])
    expect(printed.stdout).toContain("# Dockerfile")
    expect(printed.stdout).toContain("# k8s/deployment.yaml")
    expect(printed.stdout).toContain("kind: HorizontalPodAutoscaler")
    const block = readmeShellBlocks().find((text) => text.includes("agentapp deploy kubernetes"))
    expect(block, "the README has the kubernetes command").toBeDefined()
    const readme = await runShell(block!)
    expect(readme).toContain("secretKeyRef")
    expect(readme).toContain("# k8s/worker.yaml")
    const applied = await cli(["deploy", "kubernetes", "--image", "x/y:1", "--out", path.join(out, "apply"), "--apply"], {
      ...process.env,
      PATH: path.dirname(process.execPath)
    })
    expect(applied.code).toBe(1)
    expect(applied.stderr).toContain("kubectl could not run")
  })
})
