/**
 * The event log through the app's routes: the response so far as a run goes
 * and once it has ended (failed runs too), `stream: false` with a run that
 * outlives its client, client-chosen ids, and an app that turned the log off.
 */
import { describe, expect, layer } from "@effect/vitest"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { Effect, Layer } from "effect"
import { HttpServer } from "effect/http"
import { createServer } from "node:http"
import { checkRun } from "../../../test/support/protocol.ts"
import { waitFor } from "../../../test/support/server.ts"
import { dataOf, parseFrames, postJson, userText } from "../../../test/support/sse.ts"
import { makeApp } from "./fixtures/TestApp.ts"

const serverOn = <A, E, R>(app: Layer.Layer<A, E, R>) =>
  app.pipe(Layer.provideMerge(NodeHttpServer.layer(createServer, { port: 0, host: "127.0.0.1" })))
const promise = <A>(f: (url: string) => Promise<A>) =>
  Effect.flatMap(HttpServer.addressFormattedWith((url) => Effect.succeed(url)), (url) => Effect.promise(() => f(url)))
const json = (reply: Response): Promise<any> => reply.json()

layer(serverOn(makeApp().Main), { excludeTestServices: true })("the event log, on (the default)", (it) => {
  it.effect("GET /process/{id}: the response so far while the run goes, then its terminal response; a failed run's too", () =>
    promise(async (url) => {
      const started = await json(await postJson(`${url}/process`, { ...userText("x"), mode: "stateful", count: 30, interval_ms: 10, background: true }))
      await waitFor("text to be streamed", async () => {
        const soFar = await json(await fetch(`${url}/process/${started.id}`))
        return soFar.status === "in_progress" && (soFar.output[0]?.content?.[0]?.text ?? "").startsWith("w1 w2 ")
      })
      await waitFor("the run to end", async () => (await json(await fetch(`${url}/process/${started.id}`))).status === "completed")
      const events = dataOf(parseFrames(await (await fetch(`${url}/process/${started.id}/events`)).text()))
      expect(await json(await fetch(`${url}/process/${started.id}`))).toEqual(checkRun(events))
      const failed = dataOf(parseFrames(await (await postJson(`${url}/process`, { ...userText("x"), mode: "fail" })).text()))
      const response = await json(await fetch(`${url}/process/${failed[0].id}`))
      expect(response.status).toBe("failed")
      expect(response).toEqual(failed.at(-1))
    }))

  it.effect("every kind of output folds into the response the terminal event carries", () =>
    promise(async (url) => {
      const events = dataOf(parseFrames(await (await postJson(`${url}/process`, { ...userText("x"), mode: "all" })).text()))
      expect(await json(await fetch(`${url}/process/${events[0].id}`))).toEqual(checkRun(events))
    }))

  it.effect("stream: false with on_disconnect continue answers the final response, as the log has it", () =>
    promise(async (url) => {
      const reply = await postJson(`${url}/process`, { ...userText("x"), mode: "stateful", count: 5, interval_ms: 5, stream: false, on_disconnect: "continue" })
      expect(reply.status).toBe(200)
      const response = await json(reply)
      expect(response.status).toBe("completed")
      expect(response.output[0].content[0].text).toBe("w1 w2 w3 w4 w5 ")
      expect(await json(await fetch(`${url}/process/${response.id}`))).toEqual(response)
    }))

  it.effect("a client-chosen id: refused (409) while its run goes on or for another session; its own session may reuse it once ended", () =>
    promise(async (url) => {
      const id = `response_mine-${crypto.randomUUID()}`
      const live = await postJson(`${url}/process`, { ...userText("x"), id, session_id: "own", mode: "stateful", count: 20, interval_ms: 20, background: true })
      expect(live.status).toBe(200)
      const again = await postJson(`${url}/process`, { ...userText("x"), id, session_id: "other" })
      expect(again.status).toBe(409)
      expect((await json(again)).error.code).toBe("conflict")
      // the refused request started no turn: the session's history is still empty
      const history = dataOf(parseFrames(await (await postJson(`${url}/process`, { ...userText("y"), session_id: "other", mode: "history" })).text()))
      expect(checkRun(history).output[0].content[0].text).toBe("[]")
      await waitFor("the run to end", async () => (await json(await fetch(`${url}/process/${id}`))).status === "completed")
      expect((await postJson(`${url}/process`, { ...userText("x"), id, session_id: "other" })).status).toBe(409)
      const reused = await postJson(`${url}/process`, { ...userText("x"), id, session_id: "own" })
      expect(reused.status).toBe(200)
      expect(checkRun(dataOf(parseFrames(await reused.text()))).id).toBe(id)
    }))
})

describe("the event log, off", () => {
  layer(serverOn(makeApp({ eventLog: false }).Main), { excludeTestServices: true })("eventLog: false", (it) => {
    it.effect("no join routes; on_disconnect continue is refused (400); background still runs", () =>
      promise(async (url) => {
        const join = await fetch(`${url}/process/response_x/events`)
        expect(join.status).toBe(404)
        expect((await json(join)).error.message).toContain("No route")
        const refused = await postJson(`${url}/process`, { ...userText("x"), on_disconnect: "continue" })
        expect(refused.status).toBe(400)
        expect((await json(refused)).error.message).toContain("event log")
        const background = await postJson(`${url}/process`, { ...userText("x"), background: true })
        expect(background.status).toBe(200)
        expect((await json(background)).status).toBe("in_progress")
      }))
  })
})
