/**
 * A2A over JSON-RPC at `POST /a2a` (by default) and its agent card at
 * `GET /.well-known/agent-card.json`, over the same runs as `/process`: a
 * message starts a task (a run in the session its `contextId` names), a
 * stream sends its events as SSE, a cancel stops its run wherever it runs.
 */
import { Deferred, Duration, Effect, Layer, Option, Result, Stream } from "effect"
import * as NetAddress from "effect/net/NetAddress"
import { HttpRouter, HttpServer, HttpServerRequest, HttpServerResponse } from "effect/http"
import * as A2a from "../../../A2a.ts"
import * as Auth from "../../../Auth.ts"
import { register } from "../../../Health.ts"
import * as Interrupt from "../../../Interrupt.ts"
import { callerId } from "../../auth/owner.ts"
import { detach } from "../../run/detached.ts"
import { closeAfterResponse } from "../../private.ts"
import { sseOf } from "../../reply/frames.ts"
import type { Runs } from "../../run/start.ts"
import type { A2aSettings, Settings } from "../../settings.ts"
import { agentCard } from "./card.ts"
import {
  errorReply,
  fromRefusal,
  invalidParams,
  noExtendedCard,
  noPushNotifications,
  notCancelable,
  readBody,
  readRequest,
  resultReply,
  type RpcRequest,
  taskNotFound,
  unsupported
} from "./jsonRpc.ts"
import { makeLiveTasks } from "./live.ts"
import { InvalidParams, listParams, sendParams, taskParams } from "./requests.ts"
import { makeTasks, recordOf } from "./tasks.ts"
import { sendResult, type StreamResponse, streamResult, taskResult } from "./wire.ts"

const cardPath = "/.well-known/agent-card.json"

// how often a node reads the store for a task that runs on another node
const pollInterval = Duration.millis(200)

/** Params read by `read`, an invalid param being JSON-RPC's invalid-params error. */
const params = <A>(read: () => A) =>
  Effect.try({ try: read, catch: (error) => error instanceof InvalidParams ? invalidParams(error.message) : fromRefusal(error) })

/** A task with at most `historyLength` of its newest messages (`0`: none), and its artifacts unless left out. */
const trimmed = (task: A2a.Task, historyLength: number | undefined, artifacts = true): A2a.Task => {
  const { artifacts: all, history, ...rest } = task
  return {
    ...rest,
    ...(artifacts && all !== undefined && all.length > 0 ? { artifacts: all } : {}),
    ...(history === undefined || historyLength === 0 ? {} : { history: historyLength === undefined ? history : history.slice(-historyLength) })
  }
}

/** The SSE frame of each stream response to `request`: a JSON-RPC response whose envelope is written once. */
export const framer = (request: RpcRequest) => {
  const head = `data: {"jsonrpc":"2.0","id":${JSON.stringify(request.id)},"result":`
  const generic = (response: StreamResponse) => `${head}${JSON.stringify(streamResult(response, request.dialect))}}\n\n`
  if (request.dialect === "0.3") return generic
  // the answer's text chunks, most of a stream, from a template per artifact (the bytes JSON.stringify writes)
  let artifactId = ""
  let prefix = ""
  return (response: StreamResponse) => {
    if (!("artifactUpdate" in response)) return generic(response)
    const update = response.artifactUpdate
    const parts = update.artifact.parts
    if (parts.length !== 1 || parts[0].text === undefined || Object.keys(parts[0]).length !== 1 || update.artifact.name !== "response") {
      return generic(response)
    }
    if (update.artifact.artifactId !== artifactId) {
      artifactId = update.artifact.artifactId
      prefix = `${head}{"artifactUpdate":{"taskId":${JSON.stringify(update.taskId)},"contextId":${JSON.stringify(update.contextId)},` +
        `"artifact":{"artifactId":${JSON.stringify(artifactId)},"name":"response","parts":[{"text":`
    }
    return `${prefix}${JSON.stringify(parts[0].text)}}]},"append":${update.append},"lastChunk":${update.lastChunk}}}}\n\n`
  }
}

/** The origin a request reached: the card's URLs are absolute. */
const originOf = (request: HttpServerRequest.HttpServerRequest) => {
  const proto = request.headers["x-forwarded-proto"]?.split(",")[0]?.trim() || "http"
  const host = request.headers["x-forwarded-host"]?.split(",")[0]?.trim() || request.headers.host || "localhost"
  return `${proto}://${host}`
}

export const a2aRoutes = <E>(a2a: A2aSettings, runs: Runs<E>, backend: Interrupt.InterruptBackend["Service"], store: A2a.TaskStore["Service"], settings: Settings) =>
  Layer.unwrap(Effect.gen(function*() {
    const appScope = yield* Effect.scope
    const live = makeLiveTasks()
    const tasks = makeTasks(runs, store, live, a2a.taskTimeout)
    yield* Effect.forkIn(tasks.watchTimeouts, appScope)
    const path = a2a.path as string
    const secured = Option.isSome(yield* Effect.serviceOption(Auth.Auth))
    const card = (origin: string) => agentCard(a2a.options, settings, origin, path, secured)
    const found = (id: string) =>
      Effect.flatMap(tasks.find(id), (task) => task === undefined ? Effect.fail(taskNotFound(id)) : Effect.succeed(task))

    /** The task as stored once it has ended, or as it is after `limit` (a task running on another node). */
    const untilEnded = (id: string, limit: Duration.Input) =>
      Effect.gen(function*() {
        const deadline = Date.now() + Duration.toMillis(Duration.fromInputUnsafe(limit))
        let record = yield* store.get(id)
        while (Option.isSome(record) && !A2a.isTerminal(record.value.task.status.state) && Date.now() < deadline) {
          yield* Effect.sleep(pollInterval)
          record = yield* store.get(id)
        }
        return record
      })

    /**
     * Tasks newest first, a page from `offset`: the store's; with a store only
     * this node reads, the tasks `running` here first (they are saved as they
     * end), each task once.
     */
    const pageAt = (running: ReadonlyArray<A2a.TaskRecord>, contextId: string | undefined, offset: number, count: number) => {
      const fromLive = running.slice(offset, offset + count)
      if (fromLive.length === count) return Effect.succeed(fromLive)
      return Effect.map(
        store.page(contextId, Math.max(0, offset - running.length), count - fromLive.length),
        (stored) => [...fromLive, ...stored.filter((record) => !running.some((live) => live.task.id === record.task.id))]
      )
    }

    const send = (request: RpcRequest, stream: boolean) =>
      Effect.gen(function*() {
        const send = yield* params(() => sendParams(request.params, request.dialect))
        const httpRequest = yield* HttpServerRequest.HttpServerRequest
        if (stream) {
          const { responses } = yield* tasks.start(send, closeAfterResponse(httpRequest))
          const frame = framer(request)
          return sseOf(responses, (batch) => batch.map(frame))
        }
        if (send.returnImmediately) {
          // the task outlives the request: its run holds the session in a scope of its own, closed when it ends
          const { task } = yield* detach(appScope, tasks.start(send, undefined), ({ responses }) => responses)
          return resultReply(request.id, sendResult(task.events.task(), request.dialect))
        }
        const { responses, task } = yield* tasks.start(send, closeAfterResponse(httpRequest))
        yield* Stream.runDrain(responses)
        return resultReply(request.id, sendResult(task.events.task(), request.dialect))
      })

    const get = (request: RpcRequest) =>
      Effect.gen(function*() {
        const { historyLength, id } = yield* params(() => taskParams(request.params))
        const task = yield* found(id)
        return resultReply(request.id, taskResult(trimmed(task.task, historyLength), request.dialect))
      })

    const list = (request: RpcRequest) =>
      Effect.gen(function*() {
        const query = yield* params(() => listParams(request.params))
        const caller = yield* callerId
        const running: Array<A2a.TaskRecord> = []
        if (store.local) {
          for (const task of live.all()) if (query.contextId === undefined || task.contextId === query.contextId) running.unshift(recordOf(task))
        }
        const matching: Array<A2a.Task> = []
        let offset = query.offset
        let more = true
        // reads a hundred records at a time, up to a thousand per call
        while (more && matching.length < query.pageSize && offset - query.offset < 1_000) {
          const page = yield* pageAt(running, query.contextId, offset, 100)
          more = page.length === 100
          for (const record of page) {
            if (matching.length === query.pageSize) {
              more = true
              break
            }
            offset++
            if ((query.status === undefined || record.task.status.state === query.status) && (caller === undefined || record.userId === caller)) {
              matching.push(trimmed(record.task, query.historyLength, query.includeArtifacts))
            }
          }
        }
        return resultReply(request.id, {
          tasks: request.dialect === "1.0" ? matching : matching.map((task) => taskResult(task, "0.3")),
          nextPageToken: more ? String(offset) : "",
          pageSize: matching.length
        })
      })

    const cancel = (request: RpcRequest) =>
      Effect.gen(function*() {
        const { id } = yield* params(() => taskParams(request.params))
        const task = yield* found(id)
        const state = task.task.status.state
        if (A2a.isTerminal(state)) return yield* Effect.fail(notCancelable(`Task ${id} is already ${state}`))
        const stopped = yield* Effect.provideService(
          Interrupt.stop(Interrupt.makeSessionKey(task.userId, task.task.contextId)),
          Interrupt.InterruptBackend,
          backend
        ).pipe(Effect.as(true), Effect.catchTag("NoActiveRun", () => Effect.succeed(false)))
        if (task.live !== undefined) {
          yield* Effect.timeoutOption(Deferred.await(task.live.ended), "5 seconds")
          return resultReply(request.id, taskResult(task.live.events.task(), request.dialect))
        }
        const record = yield* untilEnded(id, stopped ? "5 seconds" : 0)
        if (Option.isNone(record)) return yield* Effect.fail(taskNotFound(id))
        if (!stopped && !A2a.isTerminal(record.value.task.status.state)) {
          return yield* Effect.fail(notCancelable(`Task ${id} has no running run to stop (its node may have stopped)`))
        }
        return resultReply(request.id, taskResult(record.value.task, request.dialect))
      })

    const subscribe = (request: RpcRequest) =>
      Effect.gen(function*() {
        const { id } = yield* params(() => taskParams(request.params))
        const task = yield* found(id)
        if (A2a.isTerminal(task.task.status.state)) {
          return yield* Effect.fail(unsupported(`Task ${id} is ${task.task.status.state}: read it with GetTask`))
        }
        const frame = framer(request)
        const responses = task.live !== undefined
          ? live.follow(task.live)
          // running on another node: the task as stored, then as it ends
          : Stream.concat(
            Stream.make({ task: task.task }),
            Stream.fromEffect(untilEnded(id, a2a.taskTimeout)).pipe(
              Stream.flatMap(Option.match({
                onNone: () => Stream.empty,
                onSome: (record) =>
                  Stream.make({ statusUpdate: { taskId: id, contextId: record.task.contextId, status: record.task.status } })
              })),
              Stream.catchCause((cause) => Stream.fromEffect(Effect.logWarning("could not follow an A2A task", cause)).pipe(Stream.drain))
            )
          )
        return sseOf(responses, (response) => [frame(response)])
      })

    const dispatch = (request: RpcRequest) => {
      switch (request.method) {
        case "SendMessage":
          return send(request, false)
        case "SendStreamingMessage":
          return send(request, true)
        case "GetTask":
          return get(request)
        case "ListTasks":
          return list(request)
        case "CancelTask":
          return cancel(request)
        case "SubscribeToTask":
          return subscribe(request)
        case "GetExtendedAgentCard":
          return Effect.fail(noExtendedCard)
        case "PushNotificationConfig":
          return Effect.fail(noPushNotifications)
      }
    }

    const route = readBody(settings.maxBodySize).pipe(
      Effect.mapError((error) => ({ id: null, error })),
      Effect.flatMap(readRequest),
      Effect.matchEffect({
        onFailure: (refused) => Effect.succeed(errorReply(refused.id, refused.error, "1.0")),
        onSuccess: (request) =>
          Effect.catch(dispatch(request), (error) => Effect.succeed(errorReply(request.id, fromRefusal(error), request.dialect)))
      })
    )

    const cardRoute = Effect.gen(function*() {
      const request = yield* HttpServerRequest.HttpServerRequest
      return HttpServerResponse.jsonUnsafe(card(originOf(request)), { headers: { "cache-control": "public, max-age=300" } })
    })

    // the card is published to each registry while the app runs
    const registries = a2a.options.registries ?? []
    if (registries.length > 0) {
      const server = yield* Effect.serviceOption(HttpServer.HttpServer)
      const origin = Option.match(server, {
        onNone: () => "http://localhost",
        onSome: (server) => Result.getOrElse(NetAddress.formatUrl(server.address), () => "http://localhost")
      })
      const published = card(origin)
      for (const registry of registries) {
        yield* Effect.acquireRelease(
          registry.register(published).pipe(
            Effect.catchCause((cause) => Effect.logWarning(`could not register the agent card with ${registry.name}`, cause))
          ),
          () =>
            registry.deregister(published).pipe(
              Effect.catchCause((cause) => Effect.logWarning(`could not deregister the agent card from ${registry.name}`, cause))
            )
        )
      }
    }

    return Layer.mergeAll(
      HttpRouter.add("POST", a2a.path, route),
      HttpRouter.add("GET", cardPath, cardRoute),
      register("a2a", a2a.path),
      register("agent_card", cardPath)
    )
  }))
