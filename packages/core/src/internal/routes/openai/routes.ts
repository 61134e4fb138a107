/**
 * OpenAI-compatible endpoints (under `/compatible-mode/v1` by default), over
 * the same runs as `/process`: `POST /responses` (and `/responses/{id}/cancel`),
 * `POST /chat/completions` and `GET /models`, so that OpenAI's clients and
 * the chat UIs that speak its API can talk to the agent.
 */
import { Effect, Layer, Stream } from "effect"
import { HttpRouter, HttpServerRequest, HttpServerResponse } from "effect/http"
import * as Interrupt from "../../../Interrupt.ts"
import type * as Protocol from "../../../Protocol.ts"
import * as Runner from "../../../Runner.ts"
import { register } from "../../../Health.ts"
import * as HttpError from "../../http/httpError.ts"
import { closeAfterResponse } from "../../private.ts"
import { sseOf } from "../../reply/frames.ts"
import { type Run, type Runs, sessionKey } from "../../run/start.ts"
import type { Settings } from "../../settings.ts"
import {
  asOpenAiError,
  ChatBody,
  fromChatBody,
  fromResponsesBody,
  openAiError,
  ResponsesBody,
  sessionOf
} from "./requests.ts"
import { makeResponseEvents, responseObject } from "./responseEvents.ts"

const frame = (value: object) => `data: ${JSON.stringify(value)}\n\n`
const eventFrame = (value: { readonly type: string }) => `event: ${value.type}\n${frame(value)}`

/** The frames of a Chat Completions stream per event (`null` first: the role chunk), `[DONE]` after the last. */
const chatFrames = (model: string, includeUsage: boolean) => {
  const id = `chatcmpl-${crypto.randomUUID().replaceAll("-", "")}`
  const created = Math.floor(Date.now() / 1000)
  const chunk = (delta: object, finish: string | null = null, usage?: object) =>
    frame({ id, object: "chat.completion.chunk", created, model, choices: usage ? [] : [{ index: 0, delta, finish_reason: finish }], ...(usage ? { usage } : {}) })
  const kinds = new Map<string, string>()
  let calls = 0
  return (event: Protocol.Event | null): ReadonlyArray<string> => {
    if (event === null) return [chunk({ role: "assistant", content: "" })]
    if (event.object === "message") {
      if (event.status === "in_progress") kinds.set(event.id, event.type === "reasoning" ? "reasoning" : event.role === "assistant" && event.type === "message" ? "text" : "other")
      if (event.status === "completed" && (event.type === "plugin_call" || event.type === "function_call")) {
        const data = (event.content ?? []).find((part) => part.type === "data")
        const call = data?.type === "data" ? data.data : {}
        return [chunk({
          tool_calls: [{
            index: calls++,
            id: String(call.call_id ?? ""),
            type: "function",
            function: { name: String(call.name ?? ""), arguments: String(call.arguments ?? "{}") }
          }]
        })]
      }
      return []
    }
    if (event.object === "content") {
      if (event.delta !== true || event.type !== "text") return []
      const kind = kinds.get(event.msg_id)
      if (kind === "text") return [chunk({ content: event.text })]
      if (kind === "reasoning") return [chunk({ reasoning_content: event.text })]
      return []
    }
    if (event.status === "created" || event.status === "in_progress") return []
    const out: Array<string> = []
    if (event.status === "failed") {
      out.push(frame({ error: { message: event.error?.message ?? "The agent failed", type: "server_error", param: null, code: event.error?.code ?? null } }))
    } else out.push(chunk({}, event.status === "completed" ? "stop" : "length"))
    if (includeUsage && event.usage !== null) {
      const input = Number(event.usage.input_tokens ?? 0)
      const output = Number(event.usage.output_tokens ?? 0)
      out.push(chunk({}, null, { prompt_tokens: input, completion_tokens: output, total_tokens: input + output }))
    }
    out.push("data: [DONE]\n\n")
    return out
  }
}

/** A whole Chat Completion from a run's final response. */
const chatCompletion = (response: Protocol.ResponseEvent, model: string) => {
  const texts = (type: string) =>
    (response.output ?? []).filter((message) => message.type === type && message.role === "assistant").flatMap((message) =>
      (message.content ?? []).flatMap((part) => part.type === "text" ? [part.text] : [])
    ).join("")
  const input = Number(response.usage?.input_tokens ?? 0)
  const output = Number(response.usage?.output_tokens ?? 0)
  const reasoning = texts("reasoning")
  return {
    id: `chatcmpl-${crypto.randomUUID().replaceAll("-", "")}`,
    object: "chat.completion",
    created: response.created_at,
    model,
    choices: [{
      index: 0,
      message: { role: "assistant", content: texts("message"), ...(reasoning === "" ? {} : { reasoning_content: reasoning }) },
      finish_reason: "stop"
    }],
    usage: { prompt_tokens: input, completion_tokens: output, total_tokens: input + output }
  }
}

/** The routes, over the app's runs. */
export const openAiRoutes = <E>(
  base: HttpRouter.PathInput,
  runs: Runs<E>,
  backend: Interrupt.InterruptBackend["Service"],
  settings: Settings
) => {
  const readJson = HttpError.readJson(settings.maxBodySize)
  const decodeResponses = HttpError.decode(ResponsesBody, "request")
  const decodeChat = HttpError.decode(ChatBody, "request")
  const model = (name: string | null | undefined) => name ?? settings.name
  const refusals = <A, R>(effect: Effect.Effect<A, unknown, R>) =>
    Effect.catch(effect, (error) => Effect.succeed(asOpenAiError(error)))

  /** Reads and decodes the body, makes it an agent request (or a 400 saying why not), starts its run and replies. */
  const serveRun = <B extends { readonly model?: string | null | undefined }>(
    decode: (input: unknown) => Effect.Effect<B, HttpError.RequestError>,
    toRequest: (body: B) => Protocol.AgentRequest | string,
    reply: (run: Run<E>, body: B, name: string) => Effect.Effect<HttpServerResponse.HttpServerResponse>
  ) =>
    refusals(Effect.gen(function*() {
      const body = yield* Effect.flatMap(readJson, decode)
      const request = toRequest(body)
      if (typeof request === "string") return openAiError(400, request, "invalid_request")
      const run = yield* runs.start(yield* runs.settle(request), closeAfterResponse(yield* HttpServerRequest.HttpServerRequest))
      return yield* reply(run, body, model(body.model))
    }))

  const responses = serveRun(decodeResponses, fromResponsesBody, (run, body, name) => {
    if (body.stream !== true) return Effect.map(Runner.finalResponse(runs.events(run)), (final) => HttpServerResponse.jsonUnsafe(responseObject(final, name)))
    const toEvents = makeResponseEvents(name)
    return Effect.succeed(sseOf(runs.events(run), (event) => toEvents(event).map(eventFrame)))
  })

  const cancel = refusals(Effect.gen(function*() {
    const id = (yield* HttpRouter.params).id ?? ""
    const sessionId = sessionOf(id)
    if (sessionId === undefined) return openAiError(404, `No response ${HttpError.capText(id, 64)}`, "not_found")
    yield* Effect.provideService(Interrupt.stop(yield* sessionKey(sessionId, undefined)), Interrupt.InterruptBackend, backend)
    return HttpServerResponse.jsonUnsafe({ id, object: "response", status: "cancelled" })
  }))

  const chat = serveRun(decodeChat, fromChatBody, (run, body, name) =>
    body.stream !== true
      ? Effect.map(Runner.finalResponse(runs.events(run)), (final) => HttpServerResponse.jsonUnsafe(chatCompletion(final, name)))
      : Effect.succeed(sseOf(
        Stream.concat(Stream.make(null), runs.events(run)),
        chatFrames(name, body.stream_options?.include_usage === true)
      )))

  const models = Effect.sync(() =>
    HttpServerResponse.jsonUnsafe({
      object: "list",
      data: [{ id: settings.name, object: "model", created: 0, owned_by: "agentapp" }]
    })
  )
  const path = (suffix: string) => `${base}${suffix}` as HttpRouter.PathInput

  return Layer.mergeAll(
    HttpRouter.add("POST", path("/responses"), responses),
    HttpRouter.add("POST", path("/responses/:id/cancel"), cancel),
    HttpRouter.add("POST", path("/chat/completions"), chat),
    HttpRouter.add("GET", path("/models"), models),
    register("openai_compatible", base)
  )
}
