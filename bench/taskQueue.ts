/**
 * The BullMQ layer (`BullTaskQueue` through the `TaskQueue` service) against
 * plain BullMQ, on the same Redis, with the same no-op jobs and concurrency.
 */
import { TaskQueue, Tasks } from "@agentapp/core"
import { BullTaskQueue } from "@agentapp/redis"
import { Job, Queue, Worker } from "bullmq"
import { Effect, Exit, Layer, Option, Scope } from "effect"
import { Redis } from "ioredis"
import { percentile, round } from "./lib.ts"

const concurrency = 8

interface Measured {
  readonly jobs_per_s: number
  readonly latency_p50_ms: number
  readonly latency_p99_ms: number
}

/**
 * Both share BullMQ's and ioredis' code, so whichever runs first pays for
 * their JIT warm-up (about 0.15 of the ratio when measured in one fixed
 * order). Each side gets two uncounted warm-up runs, then the measured runs
 * alternate (ours, plain, plain, ours, four times over: single runs vary by
 * about 10%) and each side reports its mean.
 */
export const taskQueueScenario = async (url: string, jobs: number, rounds = 4) => {
  for (let i = 0; i < 2; i++) {
    await oursRun(url, jobs, 10)
    await plainRun(url, jobs, 10)
  }
  const ours: Array<Measured> = []
  const plain: Array<Measured> = []
  const order = Array.from({ length: rounds }, () => ["ours", "plain", "plain", "ours"] as const).flat()
  for (const side of order) {
    if (side === "ours") ours.push(await oursRun(url, jobs, 25))
    else plain.push(await plainRun(url, jobs, 25))
  }
  const o = mean(ours)
  const p = mean(plain)
  return {
    jobs,
    concurrency,
    plain_bullmq: { ...p, runs_jobs_per_s: plain.map((run) => run.jobs_per_s) },
    agentapp_layer: { ...o, runs_jobs_per_s: ours.map((run) => run.jobs_per_s) },
    throughput_ratio: round(o.jobs_per_s / p.jobs_per_s, 2),
    latency_p50_ratio: round(o.latency_p50_ms / p.latency_p50_ms, 2)
  }
}

const mean = (runs: ReadonlyArray<Measured>): Measured => {
  const of = (key: keyof Measured) => round(runs.reduce((sum, run) => sum + run[key], 0) / runs.length, 2)
  return { jobs_per_s: Math.round(of("jobs_per_s")), latency_p50_ms: of("latency_p50_ms"), latency_p99_ms: of("latency_p99_ms") }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

async function plainRun(url: string, jobs: number, samples: number): Promise<Measured> {
  const prefix = `bench-plain-${crypto.randomUUID().slice(0, 6)}`
  const connection = new Redis(url, { maxRetriesPerRequest: null })
  const queue = new Queue("bench", { connection, prefix })
  let done = 0
  let finished: () => void = () => {}
  const workerConnection = new Redis(url, { maxRetriesPerRequest: null })
  const worker = new Worker("bench", async (job) => {
    if (++done === jobs) finished()
    return { n: job.data.n }
  }, { connection: workerConnection, prefix, concurrency })
  await worker.waitUntilReady()
  const all = new Promise<void>((resolve) => (finished = resolve))
  const start = performance.now()
  for (let n = 0; n < jobs; n++) await queue.add("noop", { n }, { removeOnComplete: { age: 3600 } })
  await all
  const jobsPerS = jobs / ((performance.now() - start) / 1000)
  const latencies: Array<number> = []
  for (let i = 0; i < samples; i++) {
    const t = performance.now()
    const job = await queue.add("noop", { n: i }, { removeOnComplete: { age: 3600 } })
    while ((await queue.getJobState(job.id!)) !== "completed") await sleep(1)
    await Job.fromId(queue, job.id!)
    latencies.push(performance.now() - t)
  }
  await worker.close()
  await queue.close()
  connection.disconnect()
  workerConnection.disconnect()
  return { jobs_per_s: round(jobsPerS, 0), latency_p50_ms: round(percentile(latencies, 50)), latency_p99_ms: round(percentile(latencies, 99)) }
}

async function oursRun(url: string, jobs: number, samples: number): Promise<Measured> {
  const scope = Scope.makeUnsafe()
  const layer = BullTaskQueue.layer({ url, prefix: `bench-ours-${crypto.randomUUID().slice(0, 6)}` })
  const context = await Effect.runPromise(Layer.buildWithScope(layer, scope))
  const run = <A, E>(effect: Effect.Effect<A, E, TaskQueue.TaskQueue>) =>
    Effect.runPromise(Effect.provideContext(effect, context))
  const options = Tasks.jobOptions({})
  let done = 0
  let finished: () => void = () => {}
  await run(TaskQueue.TaskQueue.use((tasks) =>
    tasks.work("bench", (job) =>
      Effect.sync(() => {
        if (++done === jobs) finished()
        return job.payload
      }), { concurrency }).pipe(Scope.provide(scope))))
  const all = new Promise<void>((resolve) => (finished = resolve))
  const start = performance.now()
  // submitted from Effect code, as an HTTP route of the app does
  await run(TaskQueue.TaskQueue.use((tasks) =>
    Effect.forEach(Array.from({ length: jobs }, (_, n) => n), (n) => tasks.submit("bench", "noop", { n }, options), {
      discard: true
    })
  ))
  await all
  const jobsPerS = jobs / ((performance.now() - start) / 1000)
  const latencies: Array<number> = []
  for (let i = 0; i < samples; i++) {
    const t = performance.now()
    const id = await run(TaskQueue.TaskQueue.use((tasks) => tasks.submit("bench", "noop", { n: i }, options)))
    while (true) {
      const status = await run(TaskQueue.TaskQueue.use((tasks) => tasks.status("bench", id)))
      if (Option.isSome(status) && status.value.status === "finished") break
      await sleep(1)
    }
    latencies.push(performance.now() - t)
  }
  await Effect.runPromise(Scope.close(scope, Exit.void))
  return { jobs_per_s: round(jobsPerS, 0), latency_p50_ms: round(percentile(latencies, 50)), latency_p99_ms: round(percentile(latencies, 99)) }
}
