/** The descriptions of a query handler's front doors, for `/openapi.json`. */
import { Layer, Schema } from "effect"
import * as ApiDocs from "../../ApiDocs.ts"
import { RunAgentInput } from "../routes/agUi.ts"
import { ChatBody, ResponsesBody } from "../routes/openai/requests.ts"
import { StopRequest } from "../routes/stop.ts"
import type { Settings } from "../settings.ts"

const error = (description: string) => ({ description, contentType: "application/json", shape: { ref: "Error" } })
const refusals = {
  "400": error("`invalid_request`: the body is not JSON or does not match"),
  "401": error("`unauthorized` (an app with auth)"),
  "403": error("`forbidden`: the body names another user"),
  "409": error("`session_busy`: the session has a running run"),
  "413": error("`payload_too_large`"),
  "415": error("`unsupported_media_type`"),
  "429": error("`rate_limited`"),
  "503": error("`starting`, `shutting_down` or `backend_unavailable`")
}
const sse = (description: string) => ({ description, contentType: "text/event-stream", shape: { ref: "Event" } })

/** Describes the routes `queryRoutes` adds with `settings`. */
export const describeQueryRoutes = (settings: Settings, withLog: boolean) => {
  const process = settings.processPath as string
  const layers: Array<Layer.Layer<never, never, ApiDocs.Operations>> = [
    ApiDocs.describe("POST", process, {
      summary: "Runs the agent on a request",
      description: "The run's events as SSE (`id:` the sequence number); `stream: false` gives the final response as JSON; " +
        "`background: true` answers `{id, session_id, status: \"in_progress\"}` at once. With `Last-Event-ID`, resumes the run " +
        "the body names (`id`, or the session's latest) instead.",
      tags: ["runs"],
      headers: [{ name: "Last-Event-ID", description: "Resume: the events after this sequence number" }],
      body: { shape: { ref: "AgentRequest" } },
      responses: { "200": sse("The run's events, ending with the response's terminal event"), ...refusals }
    })
  ]
  if (withLog) {
    const params = Schema.Struct({ starting_after: Schema.optional(Schema.String) })
    layers.push(
      ApiDocs.describe("GET", `${process}/:response_id/events`, {
        summary: "Joins a run: its events (after `Last-Event-ID` or `starting_after`), then live ones to the end",
        tags: ["runs"],
        query: params,
        headers: [{ name: "Last-Event-ID", description: "The events after this sequence number" }],
        responses: { "200": sse("The same bytes `/process` sent"), "404": error("Unknown, expired, or another user's run") }
      }),
      ApiDocs.describe("GET", `${process}/:response_id`, {
        summary: "A run's response so far (status, output, usage)",
        tags: ["runs"],
        responses: {
          "200": { description: "The response object", contentType: "application/json", shape: { ref: "ResponseEvent" } },
          "404": error("Unknown, expired, or another user's run")
        }
      })
    )
  }
  if (settings.stopPath !== false) {
    layers.push(ApiDocs.describe("POST", settings.stopPath, {
      summary: "Stops the running run of a session, on whichever node it runs",
      tags: ["runs"],
      body: { shape: StopRequest },
      responses: {
        "200": { description: "`{status: \"success\", message}`", contentType: "application/json" },
        "404": error("`not_found`: no run of that session is running"),
        "403": error("`forbidden`: the body names another user")
      }
    }))
  }
  if (settings.rpcPath !== false) {
    layers.push(ApiDocs.describe("POST", settings.rpcPath, {
      summary: "The typed RPC group (`AgentRpcs`: Process, Stop, SubmitTask, GetTask, Join, GetRun, Health) as ndjson",
      tags: ["rpc"],
      body: { contentType: "application/ndjson", shape: { json: { type: "string" } } },
      responses: { "200": { description: "ndjson replies of `effect/rpc`", contentType: "application/ndjson" }, "400": refusals["400"] }
    }))
  }
  if (settings.openAiPath !== false) {
    const base = settings.openAiPath as string
    const openAi = (summary: string) => ({
      summary,
      tags: ["openai-compatible"],
      responses: {
        "200": { description: "As OpenAI's API answers (SSE when `stream: true`)", contentType: "application/json" },
        "400": { description: "OpenAI's error object", contentType: "application/json" }
      }
    })
    layers.push(
      ApiDocs.describe("POST", `${base}/responses`, { ...openAi("OpenAI Responses API: a run of the agent"), body: { shape: ResponsesBody } }),
      ApiDocs.describe("POST", `${base}/responses/:id/cancel`, openAi("Cancels a response (stops its run)")),
      ApiDocs.describe("POST", `${base}/chat/completions`, { ...openAi("OpenAI Chat Completions: a run of the agent"), body: { shape: ChatBody } }),
      ApiDocs.describe("GET", `${base}/models`, openAi("The app, as one model"))
    )
  }
  if (settings.agUiPath !== false) {
    layers.push(ApiDocs.describe("POST", settings.agUiPath, {
      summary: "AG-UI: RunAgentInput in, AG-UI events out (SSE)",
      tags: ["ag-ui"],
      body: { shape: RunAgentInput },
      responses: { "200": { description: "AG-UI events", contentType: "text/event-stream" }, "400": { description: "One RUN_ERROR frame", contentType: "text/event-stream" } }
    }))
  }
  if (settings.a2a !== false) {
    layers.push(
      ApiDocs.describe("POST", settings.a2a.path, {
        summary: "A2A JSON-RPC (v1.0 and the 0.3 method names): send, stream, get, list, cancel, subscribe",
        tags: ["a2a"],
        body: { shape: { json: { type: "object", required: ["jsonrpc", "method"] } } },
        responses: { "200": { description: "A JSON-RPC result or error, or SSE for the streaming methods", contentType: "application/json" } }
      }),
      ApiDocs.describe("GET", "/.well-known/agent-card.json", {
        summary: "The A2A agent card (open with auth: it names how to authenticate)",
        tags: ["a2a"],
        open: true,
        responses: { "200": { description: "The agent card", contentType: "application/json" } }
      })
    )
  }
  if (settings.playgroundPath !== false) {
    layers.push(ApiDocs.describe("GET", settings.playgroundPath, {
      summary: "A page to chat with the agent (open with auth: it asks for a token)",
      tags: ["playground"],
      open: true,
      responses: { "200": { description: "The page", contentType: "text/html" } }
    }))
  }
  return Layer.mergeAll(layers[0], ...layers.slice(1))
}
