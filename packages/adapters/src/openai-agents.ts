/**
 * @agentapp/adapters/openai-agents: agents written with the OpenAI Agents SDK.
 *
 * @since 0.1.0
 */

/** A streamed `run(agent, …)` as a query handler: outputs, history, cancellation. @since 0.1.0 */
export * as OpenAiAgents from "./OpenAiAgents.ts"
