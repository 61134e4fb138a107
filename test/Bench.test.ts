import { execFile, execFileSync } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import { parseBenchArgs } from "../bench/args.ts"
import { fileLabel, type HeapSnapshot, inventory, lessRows, perStream } from "../bench/heapSnapshot.ts"
import { serverFlags } from "../bench/lib.ts"
import { nodeBin, repoRoot } from "./support/server.ts"

describe("the bench's command line", () => {
  it("takes --quick, --only with scenario numbers, --default-gc and --help", () => {
    expect(parseBenchArgs([])).toEqual({ quick: false, only: undefined, defaultGc: false, help: false })
    expect(parseBenchArgs(["--quick", "--only", "1,5"])).toEqual({
      quick: true,
      only: new Set([1, 5]),
      defaultGc: false,
      help: false
    })
    expect(parseBenchArgs(["--default-gc"]).defaultGc).toBe(true)
    expect(parseBenchArgs(["--only=3"]).only).toEqual(new Set([3]))
    expect(parseBenchArgs(["-h"]).help).toBe(true)
  })

  it.each([
    [["--only"], /--only/],
    [["--only", "16"], /from 1 to 15, not "16"/],
    [["--only", "1,x"], /not "x"/],
    [["--only", ""], /not ""/],
    [["--quik"], /--quik/],
    [["--default-gc=yes"], /--default-gc/],
    [["quick"], /unexpected argument: quick/]
  ])("refuses %j with a message", (args, message) => {
    expect(() => parseBenchArgs(args)).toThrow(message)
  })

  it("runs servers without allocation-site pretenuring, a pinned one's GC on its one thread, V8's defaults with --default-gc", () => {
    expect(serverFlags({ pinned: true, defaultGc: false })).toEqual(["--single-threaded-gc", "--no-allocation-site-pretenuring"])
    expect(serverFlags({ pinned: false, defaultGc: false })).toEqual(["--no-allocation-site-pretenuring"])
    expect(serverFlags({ pinned: true, defaultGc: true })).toEqual([])
    expect(serverFlags({ pinned: false, defaultGc: true })).toEqual([])
  })

  it("exits 2 with the message and the usage before it starts a server, and --help exits 0", async () => {
    const run = (args: Array<string>) =>
      new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
        const child = execFile(
          nodeBin,
          ["--disable-warning=ExperimentalWarning", path.join(repoRoot, "bench/run.ts"), ...args],
          { cwd: repoRoot, timeout: 20_000 },
          (_error, stdout, stderr) => resolve({ code: child.exitCode, stdout, stderr })
        )
      })
    const refused = await run(["--only", "16"])
    expect(refused.code).toBe(2)
    expect(refused.stderr).toContain(`bench: --only takes scenario numbers from 1 to 15, not "16"`)
    expect(refused.stderr).toContain("usage: npm run bench")
    expect(refused.stdout).toBe("")
    const help = await run(["--help"])
    expect(help.code).toBe(0)
    expect(help.stdout).toContain("4. interrupt latency")
  })
})

describe("the heap inventory of bench:heap", () => {
  it("refuses a bad --streams with exit 2 before it starts a server", async () => {
    const result = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = execFile(
        nodeBin,
        ["--disable-warning=ExperimentalWarning", path.join(repoRoot, "bench/heap.ts"), "--streams", "ten"],
        { cwd: repoRoot, timeout: 20_000 },
        (_error, _stdout, stderr) => resolve({ code: child.exitCode, stderr })
      )
    })
    expect(result.code).toBe(2)
    expect(result.stderr).toContain(`bench:heap: --streams takes a whole number of at least 100, not "ten"`)
  })

  it("takes one server's kinds from another's, a kind on one side only counting as nothing on the other", () => {
    const agentapp = [["closure", 300, 5], ["object:RunState", 88, 1]] as const
    const floor = [["closure", 100, 2], ["object:Uint8Array", 96, 1]] as const
    expect(lessRows(agentapp, floor)).toEqual([["closure", 200, 3], ["object:Uint8Array", -96, -1], ["object:RunState", 88, 1]])
  })

  it("names a script by its path in the repository, or under node_modules", () => {
    expect(fileLabel("file:///work/app/packages/core/src/Runner.ts", "/work/app")).toBe("packages/core/src/Runner.ts")
    expect(fileLabel("file:///work/app/node_modules/effect/dist/internal/effect.js", "/work/app"))
      .toBe("effect/internal/effect.js")
    expect(fileLabel("node:_http_server", "/work/app")).toBe("node:_http_server")
  })

  it("counts what a process holds per unit, by kind and closures by file, from real snapshots", () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "agentapp-heap-test-"))
    try {
      // 1,000 closures, each over a context of its own that holds one plain object
      const holder = path.join(dir, "holder.mjs")
      writeFileSync(
        holder,
        `import { writeHeapSnapshot } from "node:v8"
const held = []
writeHeapSnapshot(${JSON.stringify(path.join(dir, "a.heapsnapshot"))})
for (let i = 0; i < 1000; i++) { const box = { i }; held.push(() => box) }
writeHeapSnapshot(${JSON.stringify(path.join(dir, "b.heapsnapshot"))})
if (held.length !== 1000) process.exit(1)
`
      )
      execFileSync(nodeBin, [holder], { timeout: 60_000 })
      const read = (name: string) =>
        inventory(JSON.parse(readFileSync(path.join(dir, name), "utf8")) as HeapSnapshot, dir)
      const per = perStream(read("a.heapsnapshot"), read("b.heapsnapshot"), 1000)
      const kind = (name: string) => per.kinds.find(([kind]) => kind === name)
      const closures = kind("closure")!
      expect(closures[2]).toBeGreaterThanOrEqual(1)
      expect(closures[2]).toBeLessThan(1.1)
      expect(kind("context")![2]).toBeGreaterThanOrEqual(1)
      expect(kind("object:Object")![2]).toBeGreaterThanOrEqual(1)
      const fromHolder = per.closuresByFile.find(([file]) => file === "holder.mjs")!
      expect(fromHolder[2]).toBe(1)
      expect(fromHolder[1]).toBeGreaterThan(0)
      expect(fromHolder[1]).toBeLessThanOrEqual(closures[1])
      // each closure, its context and its object take bytes; the array that holds them grows too
      expect(per.bytes).toBeGreaterThan(closures[1] + kind("context")![1])
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
