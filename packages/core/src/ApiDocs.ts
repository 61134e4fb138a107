/**
 * The app's API description: each route says what it takes and answers (an
 * `Operation`, from the Schemas the code already has), and `GET /openapi.json`
 * gives them as OpenAPI 3.1 with every route the router serves, so that a
 * route without a description shows up as `x-undocumented`. `GET /docs` is a
 * reference page of it, served by the app.
 *
 * @since 0.1.0
 */
import { Context, Layer, Schema } from "effect"

/**
 * A JSON Schema, or an Effect Schema turned into one (its JSON form), or a
 * reference to a shared component by name (`{ ref: "AgentRequest" }`).
 *
 * @since 0.1.0
 */
export type Shape = Schema.Top | { readonly ref: string } | { readonly json: Record<string, unknown> }

/**
 * What one route takes and answers.
 *
 * @since 0.1.0
 */
export interface Operation {
  readonly summary: string
  readonly description?: string | undefined
  readonly tags?: ReadonlyArray<string> | undefined
  /**
   * Answers without credentials when the app has `Auth` (the health probes,
   * pages that ask for a token): the server's guard lets it through, and the
   * document gives it `security: []`.
   */
  readonly open?: boolean | undefined
  /** The query string, as the Schema of an object. */
  readonly query?: Schema.Top | undefined
  readonly headers?: ReadonlyArray<{ readonly name: string; readonly description: string }> | undefined
  readonly body?: { readonly contentType?: string | undefined; readonly shape: Shape } | undefined
  /** By status: a description, and the body's media type and shape. */
  readonly responses: Readonly<Record<string, {
    readonly description: string
    readonly contentType?: string | undefined
    readonly shape?: Shape | undefined
  }>>
}

/**
 * The descriptions of the app's routes, by `METHOD /path` (provided by
 * `serve`).
 *
 * @since 0.1.0
 */
export class Operations extends Context.Service<Operations, Map<string, Operation>>()("@agentapp/core/ApiDocs/Operations") {}

/**
 * Describes the route `method path` (the router's syntax, `/tasks/:task_id`).
 *
 * @since 0.1.0
 */
export const describe = (method: string, path: string, operation: Operation): Layer.Layer<never, never, Operations> =>
  Layer.effectDiscard(Operations.useSync((operations) => void operations.set(`${method} ${path}`, operation)))

/** The JSON Schema of a shape. */
const jsonSchemaOf = (shape: Shape): Record<string, unknown> => {
  if ("ref" in shape && typeof shape.ref === "string") return { $ref: `#/components/schemas/${shape.ref}` }
  if ("json" in shape && typeof shape.json === "object") return shape.json as Record<string, unknown>
  return Schema.toJsonSchemaDocument(shape as Schema.Top).schema as Record<string, unknown>
}

/** `/tasks/:task_id` → `/tasks/{task_id}`, and the parameters' names. */
const openApiPath = (path: string) => {
  const names: Array<string> = []
  const converted = path.replace(/:([A-Za-z0-9_]+)/g, (_, name: string) => {
    names.push(name)
    return `{${name}}`
  })
  return { converted, names }
}

/** The parameters of an object Schema's properties, `in` the query. */
const queryParameters = (query: Schema.Top) => {
  const schema = Schema.toJsonSchemaDocument(query).schema as { properties?: Record<string, unknown>; required?: Array<string> }
  return Object.entries(schema.properties ?? {}).map(([name, property]) => ({
    name,
    in: "query",
    required: schema.required?.includes(name) ?? false,
    schema: property
  }))
}

/**
 * The OpenAPI 3.1 document of `routes` (as `METHOD /path`), described by
 * `operations`; `components` are the shared schemas that shapes refer to.
 *
 * @since 0.1.0
 */
export const document = (options: {
  readonly title: string
  readonly version: string
  readonly description: string
  readonly routes: ReadonlyArray<string>
  readonly operations: ReadonlyMap<string, Operation>
  readonly components: Readonly<Record<string, Shape>>
  readonly bearer: boolean
}): Record<string, unknown> => {
  const paths: Record<string, Record<string, unknown>> = {}
  for (const route of options.routes) {
    const at = route.indexOf(" ")
    const method = route.slice(0, at)
    const { converted, names } = openApiPath(route.slice(at + 1))
    const operation = options.operations.get(route)
    const parameters = [
      ...names.map((name) => ({ name, in: "path", required: true, schema: { type: "string" } })),
      ...(operation?.query === undefined ? [] : queryParameters(operation.query)),
      ...(operation?.headers ?? []).map(({ description, name }) => ({ name, in: "header", required: false, description, schema: { type: "string" } }))
    ]
    const responses = Object.fromEntries(Object.entries(operation?.responses ?? { default: { description: "Not described" } }).map(
      ([status, response]) => [status, {
        description: response.description,
        ...(response.contentType === undefined ? {} : {
          content: { [response.contentType]: response.shape === undefined ? {} : { schema: jsonSchemaOf(response.shape) } }
        })
      }]
    ))
    paths[converted] ??= {}
    paths[converted][method.toLowerCase()] = {
      operationId: `${method.toLowerCase()}${converted.replace(/[^A-Za-z0-9]+(.)?/g, (_, next: string | undefined) => (next ?? "").toUpperCase())}`,
      summary: operation?.summary ?? "(undocumented)",
      ...(operation === undefined ? { "x-undocumented": true } : {}),
      ...(operation?.description === undefined ? {} : { description: operation.description }),
      ...(operation?.tags === undefined ? {} : { tags: [...operation.tags] }),
      ...(options.bearer && operation?.open === true ? { security: [] } : {}),
      ...(parameters.length === 0 ? {} : { parameters }),
      ...(operation?.body === undefined ? {} : {
        requestBody: { required: true, content: { [operation.body.contentType ?? "application/json"]: { schema: jsonSchemaOf(operation.body.shape) } } }
      }),
      responses
    }
  }
  return {
    openapi: "3.1.0",
    info: { title: options.title, version: options.version, ...(options.description === "" ? {} : { description: options.description }) },
    paths,
    components: {
      schemas: Object.fromEntries(Object.entries(options.components).map(([name, shape]) => [name, jsonSchemaOf(shape)])),
      ...(options.bearer ? { securitySchemes: { bearer: { type: "http", scheme: "bearer" } } } : {})
    },
    ...(options.bearer ? { security: [{ bearer: [] }] } : {})
  }
}
