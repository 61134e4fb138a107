/**
 * Ownership: with `Auth`, the principal's user id is the user a request acts
 * as (a request that names another user is 403), and what another user owns
 * is not found. Without `Auth`, requests act as the user they name, as in
 * the original.
 */
import { Effect, Option } from "effect"
import * as Auth from "../../Auth.ts"
import { capText } from "../http/httpError.ts"

/** The user a request acts as: `named` (or `fallback` when it names none), held to the principal's. */
export const actingUser = (named: string | null | undefined, fallback: string): Effect.Effect<string, Auth.Forbidden> =>
  Effect.flatMap(Effect.serviceOption(Auth.CurrentPrincipal), (principal) => {
    if (Option.isNone(principal)) return Effect.succeed(named ?? fallback)
    const { userId } = principal.value
    if (named == null || named === "" || named === userId) return Effect.succeed(userId)
    return Effect.fail(new Auth.Forbidden({ message: `The request names user ${capText(named, 128)}, not the caller's` }))
  })

/** Whether the current request may see what `owner` owns: any without `Auth`, its own with it. */
export const owns = (owner: string | undefined): Effect.Effect<boolean> =>
  Effect.map(Effect.serviceOption(Auth.CurrentPrincipal), (principal) => Option.isNone(principal) || principal.value.userId === owner)

/** The principal's user id, when the app has `Auth`. */
export const callerId: Effect.Effect<string | undefined> = Effect.map(
  Effect.serviceOption(Auth.CurrentPrincipal),
  (principal) => Option.isNone(principal) ? undefined : principal.value.userId
)
