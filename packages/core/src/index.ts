/**
 * @agentapp/core: serve an Effect Stream agent handler as a production HTTP
 * service on one machine, with no external service.
 *
 * @since 0.1.0
 */

/** A2A: the `a2a` option's shapes, the task store and the card's registries. @since 0.1.0 */
export * as A2a from "./A2a.ts"

/** The API description: an Operation per route, GET /openapi.json and GET /docs. @since 0.1.0 */
export * as ApiDocs from "./ApiDocs.ts"

/** Who is calling: API keys, JWTs or a custom check; the principal that owns runs. @since 0.1.0 */
export * as Auth from "./Auth.ts"

/** The public builder: make, query, endpoint, serve, runMain. @since 0.1.0 */
export * as AgentApp from "./AgentApp.ts"

/** The typed client of an app, for Effect consumers. @since 0.1.0 */
export * as AgentClient from "./AgentClient.ts"

/** The RPC group every app serves on /rpc, and its errors. @since 0.1.0 */
export * as AgentRpc from "./AgentRpc.ts"

/** The endpoint helper: JSON and SSE routes with typed parameters. @since 0.1.0 */
export * as Endpoint from "./Endpoint.ts"

/** Health routes and the app description of `GET /`. @since 0.1.0 */
export * as Health from "./Health.ts"

/** Session leases, stop signals and run states. @since 0.1.0 */
export * as Interrupt from "./Interrupt.ts"

/** Readiness phases, in-flight runs and graceful drain. @since 0.1.0 */
export * as Lifecycle from "./Lifecycle.ts"

/** What a query handler emits. @since 0.1.0 */
export * as Output from "./Output.ts"

/** Schemas and types of the wire protocol. @since 0.1.0 */
export * as Protocol from "./Protocol.ts"

/** The event log of runs: join and resume from any node. @since 0.1.0 */
export * as RunLog from "./RunLog.ts"

/** Handler outputs to numbered protocol events. @since 0.1.0 */
export * as Runner from "./Runner.ts"

/** Per-session agent state and conversation history. @since 0.1.0 */
export * as SessionStore from "./SessionStore.ts"

/** SSE framing. @since 0.1.0 */
export * as Sse from "./Sse.ts"

/** The task queue service and its memory layer. @since 0.1.0 */
export * as TaskQueue from "./TaskQueue.ts"

/** Task routes, roles and workers. @since 0.1.0 */
export * as Tasks from "./Tasks.ts"

/** OpenTelemetry over OTLP, from the OTEL_* configuration: spans, metrics and logs. @since 0.1.0 */
export * as Telemetry from "./Telemetry.ts"
