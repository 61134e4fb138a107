/**
 * The README's shell commands, run as a reader would run them.
 */
import { execFile, spawn } from "node:child_process"
import { readFileSync } from "node:fs"
import * as path from "node:path"
import { promisify } from "node:util"
import { repoRoot, within } from "./server.ts"

/** The fenced `sh` blocks of the README, trimmed. */
export const readmeShellBlocks = (): Array<string> =>
  [...readFileSync(path.join(repoRoot, "README.md"), "utf8").matchAll(/```sh\n([\s\S]*?)```/g)]
    .map((match) => match[1].trim())

/** Runs a command to its end and gives what it printed. */
export const runShell = (command: string, env?: Record<string, string>): Promise<string> =>
  promisify(execFile)("sh", ["-c", command], { cwd: repoRoot, timeout: 30_000, env: { ...process.env, ...env } })
    .then(({ stdout }) => stdout)

/**
 * Starts a streaming command (a `curl -N`) in the background: `streaming`
 * resolves at its first content delta, `ended` with all it printed.
 */
export const startShellStream = (command: string) => {
  const child = spawn("sh", ["-c", command], { cwd: repoRoot, stdio: ["ignore", "pipe", "pipe"] })
  let printed = ""
  const streaming = new Promise<void>((resolve) =>
    child.stdout.on("data", (chunk) => {
      printed += chunk
      if (printed.includes("\"delta\":true")) resolve()
    })
  )
  const closed = new Promise<string>((resolve) => child.once("close", () => resolve(printed)))
  return {
    streaming: within(10_000, `${command.slice(0, 40)}… to stream`, streaming),
    ended: within(10_000, `${command.slice(0, 40)}… to end`, closed)
  }
}
