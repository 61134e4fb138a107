#!/usr/bin/env -S node --disable-warning=ExperimentalWarning
/**
 * The `agentapp` command (`npx agentapp --help`). It runs from one bundle of
 * its sources, built on first use and kept in the package's `.cache` folder
 * (where it resolves `@agentapp/core` and esbuild as the sources do), keyed
 * by the sources' sizes and times, so that an edit rebuilds it: loading
 * the hundreds of modules of `effect/cli` one by one costs three times the
 * CPU. Without esbuild, or if the build fails, it runs from the sources.
 */
import * as crypto from "node:crypto"
import * as fs from "node:fs"
import * as module from "node:module"
import * as path from "node:path"
import { bundle } from "../src/internal/bundle.ts"

module.enableCompileCache?.()

const sources = path.resolve(import.meta.dirname, "../src")
const main = path.join(sources, "main.ts")

/** Every source file, for the bundle's key. */
const files = (folder: string): Array<string> =>
  fs.readdirSync(folder, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? files(path.join(folder, entry.name)) : [path.join(folder, entry.name)]
  )

const bundled = async (): Promise<string | undefined> => {
  try {
    const key = crypto.createHash("sha256")
    for (const file of [...files(sources), path.resolve(import.meta.dirname, "../package.json")].sort()) {
      const stat = fs.statSync(file)
      key.update(`${file}:${stat.size}:${stat.mtimeMs}\n`)
    }
    key.update(process.version)
    const cached = path.resolve(import.meta.dirname, "../.cache", `cli-${key.digest("hex").slice(0, 16)}.mjs`)
    if (fs.existsSync(cached)) return cached
    const temporary = `${cached}.${process.pid}.tmp.mjs`
    fs.mkdirSync(path.dirname(cached), { recursive: true })
    // loaded only by the commands that need them
    await bundle(main, temporary, { external: ["@agentapp/core", "esbuild"], quiet: true })
    fs.renameSync(temporary, cached)
    return cached
  } catch {
    return undefined
  }
}

await import((await bundled()) ?? main)
