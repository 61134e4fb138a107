/**
 * @agentapp/adapters/effect-ai: agents written with `effect/ai`.
 *
 * @since 0.1.0
 */

/** `LanguageModel.streamText` as a query handler: outputs, history, interruption. @since 0.1.0 */
export * as EffectAi from "./EffectAi.ts"
