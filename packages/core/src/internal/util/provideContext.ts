/**
 * Gives a handler the services of the layer that registered it. A handler
 * runs on its request's fiber (or a job's), which usually holds those
 * services already; only what it lacks is provided, so that most runs have
 * nothing to provide at all.
 */
import { Channel, Context, Effect, Layer, Scope, Stream, Tracer } from "effect"
import { HttpRouter } from "effect/http"

/**
 * The services of a layer build that its handlers may use: not the build's
 * own scope (a run has its request's or its job's), its memo map, or the
 * router it registered routes in.
 */
export const handlerServices = <R>(build: Context.Context<R>): Context.Context<R> =>
  Context.omit(Scope.Scope, Layer.CurrentMemoMap, HttpRouter.HttpRouter)(build) as Context.Context<R>

/**
 * Builds, once per layer, the check of a run's context: the part of
 * `services` that the context lacks or holds with another value (the
 * handler's own win), or `undefined` when there is none. It looks each key
 * up rather than reading the context's whole map, which would copy a request
 * context into a flat map once per run.
 */
export const missingServices = <R>(
  services: Context.Context<R>
): (current: Context.Context<never>) => Context.Context<R> | undefined => {
  const entries = Array.from(
    services.mapUnsafe,
    ([key, value]) => [key, Context.Service<unknown, unknown>(key), value] as const
  )
  return (current) => {
    let missing: Map<string, unknown> | undefined
    for (const [key, service, value] of entries) {
      if (Context.getOrUndefined(current, service) !== value) (missing ??= new Map()).set(key, value)
    }
    return missing === undefined ? undefined : Context.makeUnsafe(missing)
  }
}

/**
 * What a run's outputs are given beyond the fiber's context: the services it
 * lacks, and the run's span as the parent of the handler's own spans.
 */
export const extension = <R>(
  missing: Context.Context<R> | undefined,
  span: Tracer.Span | undefined
) =>
(context: Context.Context<never>): Context.Context<R> => {
  const merged = missing === undefined ? context : Context.merge(context, missing)
  return (span === undefined ? merged : Context.add(merged, Tracer.ParentSpan, span)) as Context.Context<R>
}

/**
 * `Stream.provideContext` merges the context into the fiber's on every pull,
 * copying both. A run's pulls happen on the same fiber context, so the
 * extended context is made once and reused while that context stays the
 * same (which also keeps the fiber's cache of it).
 */
export const provideContextCached = <A, E, R>(
  self: Stream.Stream<A, E, R>,
  extend: (context: Context.Context<never>) => Context.Context<R>
): Stream.Stream<A, E> =>
  Stream.suspend(() => {
    let base: Context.Context<never> | undefined
    let made: Context.Context<never> = Context.empty()
    const provide = (context: Context.Context<never>): Context.Context<R> => {
      if (context !== base) {
        base = context
        made = extend(context)
      }
      return made as Context.Context<R>
    }
    return Stream.fromChannel(Channel.fromTransform((upstream, scope) =>
      Effect.map(
        Effect.updateContext(Channel.toTransform(self.channel)(upstream, scope), provide),
        (pull) => Effect.updateContext(pull, provide)
      )
    ))
  })
