/**
 * Durable runs against `npm start` (the memory log) and two nodes on one
 * real Redis: a run that outlives its connection, joined and resumed from
 * its event log, from the same node or another, and a node killed mid-run.
 */
import { Redis } from "ioredis"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { checkRun } from "./support/protocol.ts"
import { type RedisServer, startRedisServer } from "./support/redis.ts"
import { nodeBin, type ServerProcess, startServer, useFriday, waitFor, within } from "./support/server.ts"
import { readmeShellBlocks, runShell } from "./support/shell.ts"
import { dataOf, parseFrames, postJson, readStream, userText } from "./support/sse.ts"

const friday = useFriday()

const story = (extra: Record<string, unknown>) => userText("Tell me a long story", extra)

/** Posts to `/process` and reads `count` data frames, then drops the connection; the frames as read. */
const readThenDrop = async (url: string, body: unknown, count: number) => {
  const controller = new AbortController()
  const reply = await postJson(`${url}/process`, body, { signal: controller.signal })
  expect(reply.status).toBe(200)
  let text = ""
  const decoder = new TextDecoder()
  const reader = reply.body!.getReader()
  while (true) {
    const { done, value } = await reader.read()
    if (done) throw new Error("the stream ended before the count")
    text += decoder.decode(value, { stream: true })
    const frames = parseFrames(text.slice(0, text.lastIndexOf("\n\n") + 2)).filter((frame) => frame.data !== undefined)
    if (frames.length >= count) {
      controller.abort()
      await reader.closed.catch(() => undefined)
      return frames.slice(0, count)
    }
  }
}

/** GETs a run's events (with headers), resolving with the frames once the stream ends. */
const join = async (url: string, id: string, headers: Record<string, string> = {}) => {
  const reply = await fetch(`${url}/process/${id}/events`, { headers })
  expect(reply.status).toBe(200)
  expect(reply.headers.get("content-type")).toBe("text/event-stream")
  return readStream(reply)
}

/** An event without the fields that differ between two runs of the same request. */
const shape = (event: unknown) =>
  JSON.stringify(event, (key, value) => ["id", "msg_id", "created_at", "completed_at", "session_id"].includes(key) ? undefined : value)

/** Checks that frames are numbered from `from` without a gap, their `id:` lines their sequence numbers. */
const checkNumbered = (frames: ReadonlyArray<{ readonly id?: string | undefined; readonly data?: string | undefined }>, from: number) =>
  frames.forEach((frame, i) => {
    expect(frame.id).toBe(String(from + i))
    expect(JSON.parse(frame.data!).sequence_number).toBe(from + i)
  })

const uninterrupted = async (url: string) => {
  const reply = await postJson(`${url}/process`, story({ session_id: `whole-${crypto.randomUUID()}` }))
  return dataOf(await readStream(reply))
}

describe("durable runs on one node (the memory log)", () => {
  it("on_disconnect continue: the run goes on when its client leaves; Last-Event-ID: 4 resumes it, every later event once, to the end", async () => {
    const session = `resume-${crypto.randomUUID()}`
    const first = await readThenDrop(friday.url, story({ session_id: session, on_disconnect: "continue" }), 5)
    checkNumbered(first, 0)
    const id = JSON.parse(first[0].data!).id as string
    const rest = await within(20_000, "the join to end", join(friday.url, id, { "last-event-id": "4" }))
    checkNumbered(rest, 5)
    const events = dataOf([...first, ...rest])
    expect(checkRun(events).status).toBe("completed")
    expect(events.map(shape)).toEqual((await uninterrupted(friday.url)).map(shape))
  })

  it("a join while the run lives and after its end gives the bytes /process sent; GET /process/{id} the response so far", async () => {
    const reply = await postJson(`${friday.url}/process`, story({ session_id: `join-${crypto.randomUUID()}` }))
    const started = Promise.withResolvers<string>()
    const streamed = (async () => {
      let text = ""
      const decoder = new TextDecoder()
      for await (const chunk of reply.body as AsyncIterable<Uint8Array>) {
        text += decoder.decode(chunk, { stream: true })
        if (text.includes("\n\n")) started.resolve(JSON.parse(parseFrames(text.slice(0, text.indexOf("\n\n") + 2))[0].data!).id)
      }
      return text
    })()
    const id = await within(10_000, "the first frame", started.promise)
    const live = fetch(`${friday.url}/process/${id}/events`).then((joined) => joined.text())
    await waitFor("the story to be under way", async () => {
      const soFar: any = await (await fetch(`${friday.url}/process/${id}`)).json()
      return soFar.status === "in_progress" && soFar.output.length > 0
    })
    const whole = await within(20_000, "the run to end", streamed)
    expect(await within(10_000, "the live join to end", live)).toBe(whole)
    expect(await (await fetch(`${friday.url}/process/${id}/events`)).text()).toBe(whole)
    expect(await (await fetch(`${friday.url}/process/${id}/events?starting_after=10`)).text())
      .toBe(whole.slice(whole.indexOf("id: 11\n")))
    expect(await (await fetch(`${friday.url}/process/${id}`)).json()).toEqual(dataOf(parseFrames(whole)).at(-1))
  })

  it("100 followers of one run get the same ordered events", async () => {
    const reply = await postJson(`${friday.url}/process`, story({ session_id: `fan-${crypto.randomUUID()}`, background: true }))
    const { id } = await reply.json() as { id: string }
    const texts = await within(30_000, "the followers to end", Promise.all(
      Array.from({ length: 100 }, () => fetch(`${friday.url}/process/${id}/events`).then((joined) => joined.text()))
    ))
    checkRun(dataOf(parseFrames(texts[0])))
    for (const text of texts) expect(text).toBe(texts[0])
  })

  it("background: answered at once with the id, the run goes on, a stop ends it canceled", async () => {
    const session = `bg-${crypto.randomUUID()}`
    const reply = await postJson(`${friday.url}/process`, story({ session_id: session, background: true }))
    expect(reply.status).toBe(200)
    const body: any = await reply.json()
    expect(body).toEqual({ id: expect.stringMatching(/^response_/), session_id: session, status: "in_progress" })
    const following = join(friday.url, body.id)
    await waitFor("the story to be under way", async () => ((await (await fetch(`${friday.url}/process/${body.id}`)).json()) as any).output.length > 0)
    expect((await postJson(`${friday.url}/stop`, { session_id: session })).status).toBe(200)
    expect(checkRun(dataOf(await within(10_000, "the join to end", following))).status).toBe("canceled")
  })

  it("on_disconnect cancel (the default): a dropped client ends the run, and its log ends canceled", async () => {
    const session = `drop-${crypto.randomUUID()}`
    const first = await readThenDrop(friday.url, story({ session_id: session }), 5)
    const id = JSON.parse(first[0].data!).id as string
    const rest = dataOf(await within(10_000, "the join to end", join(friday.url, id, { "last-event-id": "4" })))
    expect(rest.at(-1).status).toBe("canceled")
    expect(rest[0].sequence_number).toBe(5)
  })

  it("POST /process with Last-Event-ID resumes the session's run rather than starting another", async () => {
    const session = `repost-${crypto.randomUUID()}`
    const body = story({ session_id: session, on_disconnect: "continue" })
    const first = await readThenDrop(friday.url, body, 5)
    const id = JSON.parse(first[0].data!).id as string
    const again = await postJson(`${friday.url}/process`, body, { headers: { "content-type": "application/json", "last-event-id": "4" } })
    expect(again.status).toBe(200)
    const rest = await readStream(again)
    checkNumbered(rest, 5)
    expect(dataOf(rest).at(-1)).toMatchObject({ object: "response", id, status: "completed" })
    // with no run to resume: 404
    const none = await postJson(`${friday.url}/process`, story({ session_id: `none-${crypto.randomUUID()}` }), {
      headers: { "content-type": "application/json", "last-event-id": "4" }
    })
    expect(none.status).toBe(404)
    expect(((await none.json()) as any).error.code).toBe("not_found")
  })

  it("the README's resume commands work as written: the story's events after 12, from its response id", async () => {
    const block = readmeShellBlocks().find((text) => text.includes("Last-Event-ID: 12"))
    expect(block, "the README has the resume commands").toBeDefined()
    const port = new URL(friday.url).port
    const [start, resume] = block!.replaceAll("127.0.0.1:8090", `127.0.0.1:${port}`).split("\n")
    // the session id of the README's command, made unique so that a second run of this file is not busy
    const started = await runShell(start.replace("resume-1", `resume-${crypto.randomUUID()}`))
    const id = JSON.parse(parseFrames(started)[0].data!).id as string
    const frames = parseFrames(await runShell(resume.replace("RESPONSE_ID", id)))
    checkNumbered(frames, 13)
    expect(frames.map((frame) => `id: ${frame.id}\ndata: ${frame.data}\n\n`).join("")).toBe(started.slice(started.indexOf("id: 13\n")))
  })

  it("bad input: unknown or malformed ids are 404, bad cursors and fields 400, each a JSON error", async () => {
    const cases: Array<[string, RequestInit | undefined, number]> = [
      ["/process/response_nope/events", undefined, 404],
      ["/process/response_nope", undefined, 404],
      [`/process/${"x".repeat(3000)}/events`, undefined, 404],
      ["/process/response_nope/events?starting_after=abc", undefined, 400],
      ["/process/response_nope/events?starting_after=-2", undefined, 400],
      ["/process/response_nope/events", { headers: { "last-event-id": "1e3" } }, 400],
      ["/process", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(story({ on_disconnect: "later" })) }, 400],
      ["/process", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(story({ background: "yes" })) }, 400]
    ]
    for (const [path, init, status] of cases) {
      const reply = await fetch(`${friday.url}${path}`, init)
      expect(reply.status, path.slice(0, 80)).toBe(status)
      expect(((await reply.json()) as any).error.code).toBe(status === 404 ? "not_found" : "invalid_request")
    }
    expect((await fetch(`${friday.url}/health`)).status).toBe(200)
  })
})

describe("durable runs on two nodes, one Redis", () => {
  let redis: RedisServer
  let a: ServerProcess
  let b: ServerProcess
  // a short lease (the default is 30 s) so that a killed node's run is found lost within the test
  const startNode = (url: string) =>
    startServer(nodeBin, ["--disable-warning=ExperimentalWarning", "examples/distributed.ts"], {
      env: { REDIS_URL: url, FRIDAY_DELAY_MS: "5", LEASE_TTL_MS: "1500" }
    })

  beforeAll(async () => {
    redis = await startRedisServer()
    ;[a, b] = await Promise.all([startNode(redis.url), startNode(redis.url)])
  })

  afterAll(async () => {
    for (const node of [a, b]) node?.kill("SIGKILL")
    await redis?.stop()
  })

  it("a run on A whose client left is resumed from B with Last-Event-ID: 4, every later event exactly once", async () => {
    const first = await readThenDrop(a.url, story({ session_id: `nodes-${crypto.randomUUID()}`, on_disconnect: "continue" }), 5)
    const id = JSON.parse(first[0].data!).id as string
    const rest = await within(20_000, "the join to end", join(b.url, id, { "last-event-id": "4" }))
    checkNumbered(rest, 5)
    const events = dataOf([...first, ...rest])
    expect(checkRun(events).status).toBe("completed")
    expect(events.map(shape)).toEqual((await uninterrupted(a.url)).map(shape))
  })

  it("a node killed with kill -9 mid-run: its follower on the other node gets a terminal event, failed RUN_LOST", async () => {
    const c = await startNode(redis.url)
    try {
      const first = await readThenDrop(c.url, story({ session_id: `lost-${crypto.randomUUID()}`, on_disconnect: "continue" }), 3)
      const id = JSON.parse(first[0].data!).id as string
      const following = join(b.url, id, { "last-event-id": "2" })
      c.kill("SIGKILL")
      const rest = dataOf(await within(20_000, "the follower to get an end", following))
      const last = rest.at(-1)
      expect(last.object).toBe("response")
      expect(last.status).toBe("failed")
      expect(last.error.code).toBe("RUN_LOST")
      expect(rest[0].sequence_number).toBe(3)
      rest.forEach((event, i) => expect(event.sequence_number).toBe(3 + i))
    } finally {
      c.kill("SIGKILL")
    }
  })

  it("sessions.onBusy enqueue: three runs sent to one session through two nodes run one after another, in order of arrival", async () => {
    // two more nodes with the option on (the default rejects a busy session with 409)
    const env = { REDIS_URL: redis.url, FRIDAY_DELAY_MS: "5", ON_BUSY: "enqueue" }
    const [c, d] = await Promise.all([0, 1].map(() =>
      startServer(nodeBin, ["--disable-warning=ExperimentalWarning", "examples/distributed.ts"], { env })
    ))
    const client = new Redis(redis.url)
    try {
      const ids = { session_id: `queue-${crypto.randomUUID()}`, user_id: "u" }
      const queueLength = () => client.llen(`agentapp:queue:${ids.user_id.length}:${ids.user_id}:${ids.session_id}`)
      const timed = (url: string, text: string) => {
        const started = Promise.withResolvers<number>()
        const done = postJson(`${url}/process`, userText(text, ids)).then(async (reply) => {
          expect(reply.status).toBe(200)
          const frames = await readStream(reply, () => started.resolve(Date.now()))
          return { ended: Date.now(), events: dataOf(frames) }
        })
        return { started: started.promise, done }
      }
      const first = timed(c.url, "Tell me a long story")
      await within(10_000, "the first run to stream", first.started)
      const second = timed(d.url, "My name is Ada")
      await waitFor("the second to wait", async () => (await queueLength()) === 1)
      const third = timed(c.url, "Who am I?")
      await waitFor("the third to wait", async () => (await queueLength()) === 2)
      const runs = await within(30_000, "the three runs to end", Promise.all([first, second, third].map(async (run) => ({ ...(await run.done), started: await run.started }))))
      for (const run of runs) expect(checkRun(run.events).status).toBe("completed")
      // a run frees its session just before its terminal event leaves, so the next may start a moment
      // before that event is read; overlapping runs would start seconds before (the story streams for ~4 s)
      expect(runs[1].started).toBeGreaterThanOrEqual(runs[0].ended - 50)
      expect(runs[2].started).toBeGreaterThanOrEqual(runs[1].ended - 50)
      // the third ran after the second, in the same session: it knows the name the second gave
      expect(JSON.stringify(runs[2].events.at(-1))).toContain("Your name is Ada")
      expect(await queueLength()).toBe(0)
    } finally {
      client.disconnect()
      for (const node of [c, d]) node.kill("SIGKILL")
    }
  })
})
