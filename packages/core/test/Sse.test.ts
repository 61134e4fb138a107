import { describe, expect, it } from "@effect/vitest"
import { Effect, Stream } from "effect"
import { AgentApp, Runner, Sse } from "../src/index.ts"

const context = { request: { input: [] } as any, responseId: "response_1", sessionId: "s", userId: "u" }

describe("Sse.eventFrame", () => {
  it.effect("frames the Runner's text deltas byte for byte as JSON.stringify does", () =>
    Effect.gen(function*() {
      const texts = ["Hello", " \"quoted\"", " back\\slash", " new\nline", " ünïcødé 🎉", " \u0000\u001f", ""]
      const events = yield* Stream.runCollect(
        Runner.events(context, Stream.fromIterable(texts.map((text) => AgentApp.text(text))))
      )
      const deltas = events.filter((event) => event instanceof Runner.TextDeltaEvent)
      expect(deltas).toHaveLength(texts.length)
      for (const event of events) {
        expect(Sse.eventFrame(event)).toBe(`id: ${event.sequence_number}\ndata: ${JSON.stringify(event)}\n\n`)
        expect(JSON.parse(Sse.eventFrame(event).split("data: ")[1])).toEqual(JSON.parse(JSON.stringify(event)))
      }
      // a delta is a plain protocol event to every other reader
      expect(JSON.parse(JSON.stringify(deltas[1]))).toEqual({
        sequence_number: deltas[1].sequence_number,
        object: "content",
        status: "in_progress",
        error: null,
        type: "text",
        index: 0,
        delta: true,
        msg_id: deltas[1].msg_id,
        text: " \"quoted\""
      })
    }))
})
