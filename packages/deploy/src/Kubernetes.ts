/**
 * What a cluster needs to run an app: a Dockerfile (install, bundle, a slim
 * runtime image running the bundle as a non-root user) and the manifests: a
 * Deployment with probes on `/readiness` and `/liveness` and a grace period
 * above the app's drain, a Service, a PodDisruptionBudget and a
 * HorizontalPodAutoscaler; with Redis, the backends' URL from a Secret and
 * a second Deployment for the task workers.
 *
 * @since 0.1.0
 */
import { runtimeFlags } from "./Deploy.ts"
import { compileCacheOf, nameOf } from "./internal/bundle.ts"
import { stringify } from "./internal/yaml.ts"

/**
 * @since 0.1.0
 */
export interface Options {
  /** The app's entry, relative to the project (`examples/main.ts`). */
  readonly entry: string
  /** The image the cluster pulls (`registry.example.com/friday:1.0`). */
  readonly image: string
  /** Default the entry's file name. */
  readonly name?: string | undefined
  /** API replicas; the autoscaler goes from here to three times as many. Default 2. */
  readonly replicas?: number | undefined
  /** The port the app listens on. Default 8090. */
  readonly port?: number | undefined
  /** The app's `shutdownGracePeriod` in seconds; the pods get 5 s more to exit. Default 10. */
  readonly grace?: number | undefined
  /** The container's CPU limit (`"1"`, `"500m"`, `"2"`). Default `"1"`. */
  readonly cpu?: string | undefined
  /** The container's memory limit. Default `"512Mi"`. */
  readonly memory?: string | undefined
  /** A Secret holding the Redis URL under the key `url`: the Redis backends on, and a worker Deployment. */
  readonly redisSecret?: string | undefined
  /** The task workers' entry, with Redis. Default `examples/worker.ts`. */
  readonly workerEntry?: string | undefined
}

/**
 * A file to write, relative to the output folder.
 *
 * @since 0.1.0
 */
export interface File {
  readonly path: string
  readonly content: string
}

/** Node.js flags of the container: one GC thread when the pod has one core or less. */
const nodeCommand = (bundle: string, cpu: string): Array<string> => {
  const cores = cpu.endsWith("m") ? Number(cpu.slice(0, -1)) / 1000 : Number(cpu)
  return ["node", ...runtimeFlags, ...(cores <= 1 ? ["--single-threaded-gc"] : []), bundle]
}

/** The command the Dockerfile runs (its CMD): the same one `agentapp build` prints. */
/** The app's bundle in the image, under its working folder `/app`; the worker's is beside it. */
const appBundle = "dist/app.mjs"

const runtimeCommand = (bundle = appBundle): Array<string> => ["node", ...runtimeFlags, bundle]

const dockerfile = (options: Options, worker: boolean) => `# Built by agentapp deploy kubernetes. Build: docker build -t ${options.image} .
FROM node:22-slim AS build
WORKDIR /app
COPY . .
RUN npm ci --ignore-scripts
RUN npx agentapp build ${options.entry} --out ${appBundle}${worker ? ` && npx agentapp build ${options.workerEntry ?? "examples/worker.ts"} --out dist/worker.mjs` : ""}

FROM node:22-slim
ENV NODE_ENV=production
# V8's compile cache that agentapp build wrote beside the bundles (the same paths as at build)
ENV NODE_COMPILE_CACHE=/app/${compileCacheOf(appBundle)}
WORKDIR /app
COPY --from=build --chown=node:node /app/dist ./dist
USER node
EXPOSE ${options.port ?? 8090}
CMD ${JSON.stringify(runtimeCommand())}
`

const dockerignore = `node_modules
dist
.git
.tsbuild
*.log
k8s
`

/**
 * The files for `options`: the Dockerfile, `.dockerignore`, and the
 * manifests under `k8s/`.
 *
 * @since 0.1.0
 */
export const files = (options: Options): ReadonlyArray<File> => {
  const name = options.name ?? (nameOf(options.entry) || "agentapp")
  const port = options.port ?? 8090
  const replicas = options.replicas ?? 2
  const grace = options.grace ?? 10
  const cpu = options.cpu ?? "1"
  const memory = options.memory ?? "512Mi"
  const redis = options.redisSecret
  const labels = (component: string) => ({ "app.kubernetes.io/name": name, "app.kubernetes.io/component": component })
  const env = (role: string | undefined) => [
    { name: "HOST", value: "0.0.0.0" },
    { name: "PORT", value: String(port) },
    ...(role === undefined ? [] : [{ name: "ROLE", value: role }]),
    ...(redis === undefined ? [] : [{ name: "REDIS_URL", valueFrom: { secretKeyRef: { name: redis, key: "url" } } }])
  ]
  const probe = (probePath: string, period: number) => ({
    httpGet: { path: probePath, port: "http" },
    periodSeconds: period,
    timeoutSeconds: 2,
    failureThreshold: 3
  })
  const deployment = (component: string, bundle: string, count: number, role: string | undefined) => ({
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: component === "api" ? name : `${name}-${component}`, labels: labels(component) },
    spec: {
      replicas: count,
      selector: { matchLabels: labels(component) },
      template: {
        metadata: { labels: labels(component) },
        spec: {
          // above the app's drain, so that runs in flight finish before the pod is killed
          terminationGracePeriodSeconds: grace + 5,
          securityContext: { runAsNonRoot: true, runAsUser: 1000 },
          containers: [{
            name: component,
            image: options.image,
            command: nodeCommand(bundle, cpu),
            ports: [{ name: "http", containerPort: port }],
            env: env(role),
            readinessProbe: probe("/readiness", 5),
            livenessProbe: probe("/liveness", 10),
            resources: { requests: { cpu: "250m", memory: "256Mi" }, limits: { cpu, memory } },
            securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true }
          }]
        }
      }
    }
  })
  const manifests: Array<File> = [
    { path: "k8s/deployment.yaml", content: stringify(deployment("api", appBundle, replicas, redis === undefined ? undefined : "api")) },
    {
      path: "k8s/service.yaml",
      content: stringify({
        apiVersion: "v1",
        kind: "Service",
        metadata: { name, labels: labels("api") },
        spec: { selector: labels("api"), ports: [{ name: "http", port: 80, targetPort: "http" }] }
      })
    },
    {
      path: "k8s/pdb.yaml",
      content: stringify({
        apiVersion: "policy/v1",
        kind: "PodDisruptionBudget",
        metadata: { name, labels: labels("api") },
        spec: { maxUnavailable: 1, selector: { matchLabels: labels("api") } }
      })
    },
    {
      path: "k8s/hpa.yaml",
      content: stringify({
        apiVersion: "autoscaling/v2",
        kind: "HorizontalPodAutoscaler",
        metadata: { name, labels: labels("api") },
        spec: {
          scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name },
          minReplicas: replicas,
          maxReplicas: replicas * 3,
          metrics: [{ type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 70 } } }]
        }
      })
    },
    ...(redis === undefined ? [] : [{ path: "k8s/worker.yaml", content: stringify(deployment("worker", "dist/worker.mjs", 1, undefined)) }])
  ]
  return [
    { path: "Dockerfile", content: dockerfile(options, redis !== undefined) },
    { path: ".dockerignore", content: dockerignore },
    ...manifests
  ]
}
