/**
 * One ESM file with everything an entry imports but Node.js itself (and the
 * packages named `external`): what `agentapp build` writes, and what the bin
 * runs the CLI from. Kept apart from the CLI so that the bin loads no more.
 */
import { spawnSync } from "node:child_process"
import { readFile } from "node:fs/promises"
import { builtinModules } from "node:module"
import * as path from "node:path"
import { pathToFileURL } from "node:url"
import type { Plugin } from "esbuild"

const builtins = new Set(builtinModules)

/**
 * Node's own modules are required, not imported: importing one makes Node
 * build its ES module face, reading every export, and `node:http`'s
 * `WebSocket` export loads undici (20–30 ms of a start) that the app never uses.
 */
const requireBuiltins: Plugin = {
  name: "agentapp-require-builtins",
  setup(build) {
    build.onResolve({ filter: /^(node:)?[a-z0-9_/]+$/ }, (args) =>
      (args.kind === "import-statement" || args.kind === "dynamic-import") &&
        (args.path.startsWith("node:") || builtins.has(args.path))
        ? { path: args.path, namespace: "agentapp-builtin" }
        : undefined)
    build.onLoad({ filter: /.*/, namespace: "agentapp-builtin" }, (args) => ({
      contents: `module.exports = require(${JSON.stringify(args.path)})`,
      loader: "js"
    }))
  }
}

const loaders = { ".ts": "ts", ".mts": "ts", ".cts": "ts", ".tsx": "tsx", ".jsx": "jsx" } as const
// spelled in two parts: this file is bundled too (the CLI's bundle), and its own text must not match
const meta = ["import", "meta"].join(".")
const metaMain = new RegExp(`\\b${meta.replace(".", "\\.")}\\.main\\b`, "g")
const metaAlone = new RegExp(`\\b${meta.replace(".", "\\.")}\\b(?!\\.)`, "g")

/**
 * In a bundle every module has the bundle's `import.meta`: an imported
 * module's `AgentApp.isMain(import.meta)` would be true too, and two apps would
 * start (examples/worker.ts imports examples/main.ts). Every module but the
 * entry is given an `import.meta` whose `main` is false (node_modules aside).
 */
const onlyEntryIsMain = (entry: string): Plugin => ({
  name: "agentapp-only-entry-is-main",
  setup(build) {
    build.onLoad({ filter: /\.[cm]?[jt]sx?$/ }, async (args) => {
      if (args.path === entry || /[\\/]node_modules[\\/]/.test(args.path)) return undefined
      const source = await readFile(args.path, "utf8")
      if (!source.includes(meta)) return undefined
      return {
        contents: source.replace(metaMain, "false").replace(metaAlone, `({ ...${meta}, main: false })`),
        loader: loaders[path.extname(args.path) as keyof typeof loaders] ?? "js"
      }
    })
  }
})

/** Bundles `entry` into `outfile` with esbuild (loaded only now). */
export const bundle = async (
  entry: string,
  outfile: string,
  options?: { readonly external?: ReadonlyArray<string>; readonly quiet?: boolean }
): Promise<void> => {
  const esbuild = await import("esbuild")
  await esbuild.build({
    entryPoints: [entry],
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node22",
    outfile,
    external: [...(options?.external ?? [])],
    plugins: [requireBuiltins, onlyEntryIsMain(path.resolve(entry))],
    logLevel: options?.quiet === true ? "silent" : "warning",
    // the bundle is ESM; the CommonJS packages in it, and Node's modules, are reached through require
    banner: { js: "import { createRequire as __agentappCreateRequire } from 'node:module'; const require = __agentappCreateRequire(import.meta.url);" }
  })
}

/** Where V8's compile cache of a bundle is kept: `.node-compile-cache` beside it (`NODE_COMPILE_CACHE`). */
export const compileCacheOf = (outfile: string): string => path.join(path.dirname(outfile), ".node-compile-cache")

/**
 * Writes V8's compile cache of a bundle (a start then skips compiling its
 * 2 MB: a third of the time to ready): the bundle is imported once, which
 * does not start an app (`AgentApp.isMain` is false for an imported module),
 * with the V8 flags it runs with. A module that fails as it runs (a setting
 * missing here) was compiled all the same. Whether it worked: a start
 * without the cache only compiles again.
 */
export const writeCompileCache = (outfile: string, nodeFlags: ReadonlyArray<string>): boolean =>
  spawnSync(process.execPath, [
    ...nodeFlags,
    "--input-type=module",
    "--eval",
    `try { await import(${JSON.stringify(pathToFileURL(path.resolve(outfile)).href)}) } catch {} (await import("node:module")).flushCompileCache(); process.exit(0)`
  ], { env: { ...process.env, NODE_COMPILE_CACHE: compileCacheOf(outfile) }, stdio: "ignore", timeout: 30_000 }).status === 0

/** An entry's name: its file name without the extension (`examples/main.ts` → `main`). */
export const nameOf = (entry: string): string => entry.replace(/^.*[\\/]/, "").replace(/\.[^.]*$/, "")
