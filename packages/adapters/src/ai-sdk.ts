/**
 * @agentapp/adapters/ai-sdk: agents written with the Vercel AI SDK.
 *
 * @since 0.1.0
 */

/** `streamText` as a query handler: outputs, history, cancellation. @since 0.1.0 */
export * as AiSdk from "./AiSdk.ts"
