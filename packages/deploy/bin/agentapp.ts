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
    const bundle = path.resolve(import.meta.dirname, "../.cache", `cli-${key.digest("hex").slice(0, 16)}.mjs`)
    if (fs.existsSync(bundle)) return bundle
    const esbuild = await import("esbuild")
    const temporary = `${bundle}.${process.pid}.tmp.mjs`
    fs.mkdirSync(path.dirname(bundle), { recursive: true })
    await esbuild.build({
      entryPoints: [main],
      bundle: true,
      platform: "node",
      format: "esm",
      target: "node22",
      outfile: temporary,
      // loaded only by the commands that need them
      external: ["@agentapp/core", "esbuild"],
      logLevel: "silent",
      banner: { js: "import { createRequire as __agentappCreateRequire } from 'node:module'; const require = __agentappCreateRequire(import.meta.url);" }
    })
    fs.renameSync(temporary, bundle)
    return bundle
  } catch {
    return undefined
  }
}

await import((await bundled()) ?? main)
