/** The agent card: the `a2a` option's fields over the app's, with the JSON-RPC binding at its URL in both versions. */
import type * as A2a from "../../../A2a.ts"

/** What the card is built from: the app's name, description and version. */
export interface CardDefaults {
  readonly name: string
  readonly description: string
  readonly version: string
}

/**
 * What an app with `Auth` publishes when the `a2a` option names no scheme:
 * a bearer token, in v1.0's shape with 0.3's fields beside it (`type`,
 * `scheme`, and `security`), as the card serves clients of both.
 */
const bearer = {
  securitySchemes: {
    bearer: {
      httpAuthSecurityScheme: { scheme: "Bearer", description: "An API key or a JWT, as Authorization: Bearer <token>" },
      type: "http",
      scheme: "bearer"
    }
  },
  securityRequirements: [{ schemes: { bearer: { list: [] } } }],
  security: [{ bearer: [] }]
}

/**
 * The card, for the agent served at `origin` (the configured `url` wins) with
 * the binding on `path`; `secured` when the app has `Auth`.
 */
export const agentCard = (options: A2a.Options, defaults: CardDefaults, origin: string, path: string, secured = false): A2a.AgentCard => {
  const name = options.name ?? defaults.name
  const description = options.description ?? (defaults.description || name)
  const url = `${(options.url ?? origin).replace(/\/+$/, "")}${path}`
  const inputModes = options.defaultInputModes ?? ["text/plain", "application/json"]
  const outputModes = options.defaultOutputModes ?? ["text/plain", "application/json"]
  return {
    name,
    description,
    version: options.version ?? defaults.version,
    supportedInterfaces: [
      { url, protocolBinding: "JSONRPC", protocolVersion: "1.0" },
      { url, protocolBinding: "JSONRPC", protocolVersion: "0.3" }
    ],
    capabilities: { streaming: true, pushNotifications: false, extendedAgentCard: false },
    defaultInputModes: inputModes,
    defaultOutputModes: outputModes,
    skills: (options.skills ?? [{ id: "chat", name, description, tags: ["chat"] }]).map((skill) => ({
      ...skill,
      examples: skill.examples ?? [],
      inputModes: skill.inputModes ?? inputModes,
      outputModes: skill.outputModes ?? outputModes
    })),
    ...(options.provider === undefined ? {} : { provider: options.provider }),
    ...(options.documentationUrl === undefined ? {} : { documentationUrl: options.documentationUrl }),
    ...(options.iconUrl === undefined ? {} : { iconUrl: options.iconUrl }),
    ...(secured && options.securitySchemes === undefined ? bearer : {}),
    ...(options.securitySchemes === undefined ? {} : { securitySchemes: options.securitySchemes }),
    ...(options.securityRequirements === undefined ? {} : { securityRequirements: options.securityRequirements }),
    // what a 0.3 client reads: its binding's URL and version
    url,
    protocolVersion: "0.3.0",
    preferredTransport: "JSONRPC"
  }
}
