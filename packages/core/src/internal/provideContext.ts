/**
 * `Stream.provideContext` merges the given context into the fiber's on every
 * pull, copying both. A run's pulls happen on the same fiber context, so the
 * merge is done once and reused while that context stays the same.
 */
import { Channel, Context, Effect, Stream } from "effect"

export const provideContextCached = <A, E, R>(
  self: Stream.Stream<A, E, R>,
  services: Context.Context<R>
): Stream.Stream<A, E> =>
  Stream.suspend(() => {
    let base: Context.Context<never> | undefined
    let merged: Context.Context<never> = Context.empty()
    const provide = (context: Context.Context<never>): Context.Context<R> => {
      if (context !== base) {
        base = context
        merged = Context.merge(context, services)
      }
      return merged as Context.Context<R>
    }
    return Stream.fromChannel(Channel.fromTransform((upstream, scope) =>
      Effect.map(
        Effect.updateContext(Channel.toTransform(self.channel)(upstream, scope), provide),
        (pull) => Effect.updateContext(pull, provide)
      )
    ))
  })
