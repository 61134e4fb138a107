/**
 * The deployments this machine started: `deployments.json` in the agentapp
 * home (`AGENTAPP_HOME`, default `~/.agentapp`), written whole through a
 * rename so that a reader never sees half of it.
 */
import * as Effect from "effect/Effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { DeployError } from "./errors.ts"

/** One deployment: what runs, where, and its process group. */
export interface Deployment {
  readonly name: string
  readonly entry: string
  readonly url: string
  readonly host: string
  readonly port: number
  readonly pid: number
  readonly log: string
  /** ISO 8601. */
  readonly startedAt: string
}

/** The agentapp home folder. */
export const home = (): string => process.env.AGENTAPP_HOME ?? path.join(os.homedir(), ".agentapp")

const stateFile = () => path.join(home(), "deployments.json")

/** Whether a process is alive (signal 0 checks without signalling). */
export const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM"
  }
}

const readAll = Effect.try({
  try: (): Array<Deployment> => {
    const file = stateFile()
    if (!fs.existsSync(file)) return []
    const parsed = JSON.parse(fs.readFileSync(file, "utf8")) as { deployments?: Array<Deployment> }
    return Array.isArray(parsed.deployments) ? parsed.deployments : []
  },
  catch: (cause) => new DeployError({ message: `Cannot read ${stateFile()}: ${(cause as Error).message}` })
})

const writeAll = (deployments: ReadonlyArray<Deployment>) =>
  Effect.try({
    try: () => {
      fs.mkdirSync(home(), { recursive: true })
      const temporary = `${stateFile()}.${process.pid}.tmp`
      fs.writeFileSync(temporary, `${JSON.stringify({ deployments }, null, 2)}\n`)
      fs.renameSync(temporary, stateFile())
    },
    catch: (cause) => new DeployError({ message: `Cannot write ${stateFile()}: ${(cause as Error).message}` })
  })

/** The deployments whose process lives; the entries of dead ones are removed. */
export const live: Effect.Effect<ReadonlyArray<Deployment>, DeployError> = Effect.flatMap(readAll, (all) => {
  const alive = all.filter((deployment) => isAlive(deployment.pid))
  return alive.length === all.length ? Effect.succeed(alive) : Effect.as(writeAll(alive), alive)
})

export const add = (deployment: Deployment) =>
  Effect.flatMap(live, (all) => writeAll([...all.filter((other) => other.name !== deployment.name), deployment]))

export const remove = (name: string) => Effect.flatMap(readAll, (all) => writeAll(all.filter((other) => other.name !== name)))

/** The deployment named, or the only one when no name is given. */
export const find = (name: string | undefined) =>
  Effect.flatMap(live, (all) => {
    if (name !== undefined) {
      const found = all.find((deployment) => deployment.name === name)
      return found === undefined
        ? Effect.fail(new DeployError({ message: `No deployment named ${name} is running (agentapp list shows them)` }))
        : Effect.succeed(found)
    }
    if (all.length === 1) return Effect.succeed(all[0])
    return Effect.fail(new DeployError({
      message: all.length === 0
        ? "No deployment is running"
        : `${all.length} deployments are running: name one (${all.map((deployment) => deployment.name).join(", ")})`
    }))
  })
