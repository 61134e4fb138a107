/**
 * The README's Layout section is the tree: every source file of the packages
 * and examples has its line, and every line names a file that exists. And the
 * shape the tree keeps: small files, no import cycle, no `as any`.
 */
import { describe, expect, it } from "vitest"
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs"
import { dirname, join, normalize } from "node:path"

const root = join(import.meta.dirname, "..")

const filesUnder = (dir: string): Array<string> =>
  readdirSync(join(root, dir)).flatMap((name) => {
    const path = `${dir}/${name}`
    return statSync(join(root, path)).isDirectory() ? filesUnder(path) : [path]
  })

/** Every file under a package's `src/`. */
const packageSources = () => readdirSync(join(root, "packages")).flatMap((name) => filesUnder(`packages/${name}/src`))

/** The paths the Layout section names: a package folder, then its files indented under it. */
const listed = (): Array<string> => {
  const readme = readFileSync(join(root, "README.md"), "utf8")
  const section = readme.slice(readme.indexOf("## Layout"))
  const block = section.slice(section.indexOf("```\n") + 4, section.indexOf("```", section.indexOf("```\n") + 4))
  const paths: Array<string> = []
  let base = ""
  for (const line of block.split("\n")) {
    const path = line.trim().split(/\s+/)[0] ?? ""
    if (path === "") continue
    if (!line.startsWith(" ")) {
      base = path.endsWith("/") ? path : ""
      paths.push(path)
    } else paths.push(`${base}${path}`)
  }
  return paths
}

describe("README Layout", () => {
  it("lists every source file of the packages and the examples, one line each", () => {
    const paths = new Set(listed())
    const sources = [...packageSources(), ...filesUnder("examples")].filter((path) => path.endsWith(".ts"))
    expect(sources.filter((path) => !paths.has(path))).toEqual([])
  })

  it("names only paths that exist", () => {
    expect(listed().filter((path) => !existsSync(join(root, path)))).toEqual([])
  })
})

const sources = () => packageSources().filter((path) => path.endsWith(".ts"))

/** The relative imports of a module (type-only ones too: a cycle of types is still a cycle to read). */
const importsOf = (path: string): Array<string> =>
  [...readFileSync(join(root, path), "utf8").matchAll(/(?:from|import)\s*\(?\s*"(\.{1,2}\/[^"]+)"/g)].map((match) =>
    normalize(join(dirname(path), match[1]))
  )

describe("the shape of the source", () => {
  it("no source file is over 350 lines", () => {
    const long = sources().filter((path) => readFileSync(join(root, path), "utf8").split("\n").length > 351)
    expect(long).toEqual([])
  })

  it("no module imports itself through others", () => {
    const graph = new Map(sources().map((path) => [path, importsOf(path)]))
    const cycles: Array<string> = []
    const state = new Map<string, "open" | "done">()
    const visit = (path: string, trail: Array<string>) => {
      if (state.get(path) === "done") return
      if (state.get(path) === "open") {
        cycles.push([...trail.slice(trail.indexOf(path)), path].join(" > "))
        return
      }
      state.set(path, "open")
      for (const next of graph.get(path) ?? []) visit(next, [...trail, path])
      state.set(path, "done")
    }
    for (const path of graph.keys()) visit(path, [])
    expect(cycles).toEqual([])
  })

  it("no `as any` in the packages' sources", () => {
    expect(sources().filter((path) => /\bas any\b/.test(readFileSync(join(root, path), "utf8")))).toEqual([])
  })
})
