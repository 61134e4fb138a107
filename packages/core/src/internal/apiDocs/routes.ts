/** `GET /openapi.json` and `GET /docs`. */
import { Effect, Layer, Option } from "effect"
import { HttpRouter, HttpServerResponse } from "effect/http"
import * as ApiDocs from "../../ApiDocs.ts"
import * as Auth from "../../Auth.ts"
import { AppInfo, register } from "../../Health.ts"
import * as Protocol from "../../Protocol.ts"
import { docsPage } from "./page.ts"

/** The JSON error reply of PROTOCOL.md §5. */
const errorShape: ApiDocs.Shape = {
  json: {
    type: "object",
    properties: {
      error: {
        type: "object",
        properties: { code: { type: "string" }, message: { type: "string" }, details: {} },
        required: ["code", "message"]
      }
    },
    required: ["error"]
  }
}

/** The schemas the routes' descriptions refer to by name. */
export const components: Readonly<Record<string, ApiDocs.Shape>> = {
  AgentRequest: Protocol.AgentRequest,
  Event: Protocol.Event,
  ResponseEvent: Protocol.ResponseEvent,
  Error: errorShape
}

export const apiDocsRoutes = (paths: { readonly spec: string; readonly docs: string }) =>
  Layer.unwrap(Effect.gen(function*() {
    const info = yield* AppInfo
    const operations = yield* ApiDocs.Operations
    const bearer = Option.isSome(yield* Effect.serviceOption(Auth.Auth))
    // built at the first request, once every route has been added and described
    let spec: HttpServerResponse.HttpServerResponse | undefined
    const specRoute = Effect.sync(() =>
      spec ??= HttpServerResponse.jsonUnsafe(ApiDocs.document({
        title: info.name,
        version: info.version,
        description: info.description,
        routes: info.routes,
        operations,
        components,
        bearer
      }))
    )
    const page = docsPage(paths.spec)
    return Layer.mergeAll(
      HttpRouter.add("GET", paths.spec as HttpRouter.PathInput, specRoute),
      HttpRouter.add("GET", paths.docs as HttpRouter.PathInput, Effect.succeed(page)),
      register("openapi", paths.spec),
      register("docs", paths.docs),
      ApiDocs.describe("GET", paths.spec, {
        summary: "This API, as OpenAPI 3.1",
        tags: ["docs"],
        responses: { "200": { description: "The OpenAPI document", contentType: "application/json" } }
      }),
      ApiDocs.describe("GET", paths.docs, {
        summary: "A reference page of this API (open with auth: it asks for a token)",
        tags: ["docs"],
        open: true,
        responses: { "200": { description: "The page", contentType: "text/html" } }
      })
    )
  }))
