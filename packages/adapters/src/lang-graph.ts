/**
 * @agentapp/adapters/langgraph: agents written with LangGraph JS.
 *
 * @since 0.1.0
 */

/** A compiled messages graph as a query handler: outputs, history, cancellation. @since 0.1.0 */
export * as LangGraph from "./LangGraph.ts"
