/**
 * The invariants every `/process` run must hold (PROTOCOL.md §2), checked on
 * the parsed events of a real response.
 */
import { expect } from "vitest"

const terminal = new Set(["completed", "failed", "canceled"])

export const checkRun = (events: ReadonlyArray<any>): any => {
  expect(events.length).toBeGreaterThanOrEqual(3)
  // sequence_number runs 0..n with no gaps
  expect(events.map((event) => event.sequence_number)).toEqual(events.map((_, i) => i))
  // every event carries the common fields
  for (const event of events) {
    expect(["response", "message", "content"]).toContain(event.object)
    expect(event).toHaveProperty("status")
    expect(event).toHaveProperty("error")
  }
  expect(events[0]).toMatchObject({ object: "response", status: "created" })
  expect(events[1]).toMatchObject({ object: "response", status: "in_progress" })
  // exactly one terminal response event, and it is last
  const terminals = events.filter((event) => event.object === "response" && terminal.has(event.status))
  expect(terminals).toHaveLength(1)
  const last = events[events.length - 1]
  expect(last).toBe(terminals[0])
  // every response event names the same response and session
  for (const event of events.filter((event) => event.object === "response")) {
    expect(event.id).toBe(last.id)
    expect(event.session_id).toBe(last.session_id)
  }
  // each completed message's content equals its concatenated deltas
  const completed = events.filter((event) => event.object === "message" && event.status !== "in_progress")
  for (const message of completed) {
    const started = events.filter((event) => event.object === "message" && event.id === message.id)
    expect(started[0].status).toBe("in_progress")
    expect(started[0].sequence_number).toBeLessThan(message.sequence_number)
    for (const part of message.content) {
      expect(part).toMatchObject({ object: "content", delta: false, msg_id: message.id })
      if (part.type === "text") {
        const deltas = events.filter((event) =>
          event.object === "content" && event.delta === true && event.msg_id === message.id &&
          event.index === part.index
        )
        if (deltas.length > 0) expect(part.text).toBe(deltas.map((delta) => delta.text).join(""))
      }
    }
  }
  // response.output holds the completed messages, in order
  expect(last.output).toEqual(completed)
  return last
}

/**
 * Friday's reply to "Hello Friday" (examples/main.ts): a completed run with
 * reasoning, a word_stats call and its result, and the answer.
 */
export const checkFridayHello = (events: ReadonlyArray<any>): void => {
  const last = checkRun(events)
  expect(last.status).toBe("completed")
  expect(last.output.map((message: any) => message.type)).toEqual([
    "reasoning",
    "plugin_call",
    "plugin_call_output",
    "message"
  ])
  expect(last.output[1].content[0].data.name).toBe("word_stats")
  expect(JSON.parse(last.output[2].content[0].data.output)).toEqual({ words: 2, characters: 12 })
  expect(last.output[3].content[0].text).toContain("Your message has 2 words")
}
