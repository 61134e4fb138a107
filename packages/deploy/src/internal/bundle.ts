/**
 * One ESM file with everything an entry imports but Node.js itself (and the
 * packages named `external`): what `agentapp build` writes, and what the bin
 * runs the CLI from. Kept apart from the CLI so that the bin loads no more.
 */

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
    logLevel: options?.quiet === true ? "silent" : "warning",
    // the bundle is ESM; the CommonJS packages in it still call require
    banner: { js: "import { createRequire as __agentappCreateRequire } from 'node:module'; const require = __agentappCreateRequire(import.meta.url);" }
  })
}

/** An entry's name: its file name without the extension (`examples/main.ts` → `main`). */
export const nameOf = (entry: string): string => entry.replace(/^.*[\\/]/, "").replace(/\.[^.]*$/, "")
