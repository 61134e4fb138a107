import { describe, expect, it } from "@effect/vitest"
import { Interrupt } from "../src/index.ts"
import { prefixedId, randomUuid } from "../src/internal/util/ids.ts"

const uuidV4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

describe("ids", () => {
  it("randomUuid gives distinct version-4 UUIDs, across refills of its random pool", () => {
    const ids = Array.from({ length: 20_000 }, randomUuid)
    for (const id of ids) expect(id).toMatch(uuidV4)
    expect(new Set(ids).size).toBe(ids.length)
    // every free hex digit takes all 16 values: no position is stuck or copied from the last id
    const free = [...ids[0]].map((_, at) => at).filter((at) => ![8, 13, 14, 18, 19, 23].includes(at))
    for (const at of free) expect(new Set(ids.map((id) => id[at])).size).toBe(16)
    expect(new Set(ids.map((id) => id[19]))).toEqual(new Set(["8", "9", "a", "b"]))
  })

  it("prefixedId puts the prefix before an underscore", () => {
    const id = prefixedId("msg")
    expect(id.slice(0, 4)).toBe("msg_")
    expect(id.slice(4)).toMatch(uuidV4)
  })

  it("keyString tells apart keys whose parts contain the separator", () => {
    const a = Interrupt.keyString({ userId: "a:b", sessionId: "c" })
    const b = Interrupt.keyString({ userId: "a", sessionId: "b:c" })
    expect(a).toBe("3:a:b:c")
    expect(b).toBe("1:a:b:c")
  })

  it("a run's key (makeSessionKey) has the same string as a plain key, and reads as one", () => {
    for (const [userId, sessionId] of [["u", "s"], ["a:b", "c"], ["a", "b:c"], ["ünï", "🙂"], ["", ""]]) {
      const key = Interrupt.makeSessionKey(userId, sessionId)
      expect(Interrupt.keyString(key)).toBe(Interrupt.keyString({ userId, sessionId }))
      expect(Interrupt.keyString(key)).toBe(Interrupt.keyString(key))
      // nothing else to see: equal to the plain key, and serialized like it
      expect(key).toEqual({ userId, sessionId })
      expect(JSON.parse(JSON.stringify(key))).toEqual({ userId, sessionId })
    }
  })
})
