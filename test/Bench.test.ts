import { execFile } from "node:child_process"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import { parseBenchArgs } from "../bench/args.ts"
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
    [["--only", "9"], /from 1 to 6, not "9"/],
    [["--only", "1,x"], /not "x"/],
    [["--only", ""], /not ""/],
    [["--quik"], /--quik/],
    [["--default-gc=yes"], /--default-gc/],
    [["quick"], /unexpected argument: quick/]
  ])("refuses %j with a message", (args, message) => {
    expect(() => parseBenchArgs(args)).toThrow(message)
  })

  it("runs a pinned server's GC on its one thread unless --default-gc, and an unpinned one with V8's default", () => {
    expect(serverFlags({ pinned: true, defaultGc: false })).toEqual(["--single-threaded-gc"])
    expect(serverFlags({ pinned: true, defaultGc: true })).toEqual([])
    expect(serverFlags({ pinned: false, defaultGc: false })).toEqual([])
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
    const refused = await run(["--only", "7"])
    expect(refused.code).toBe(2)
    expect(refused.stderr).toContain(`bench: --only takes scenario numbers from 1 to 6, not "7"`)
    expect(refused.stderr).toContain("usage: npm run bench")
    expect(refused.stdout).toBe("")
    const help = await run(["--help"])
    expect(help.code).toBe(0)
    expect(help.stdout).toContain("4. interrupt latency")
  })
})
