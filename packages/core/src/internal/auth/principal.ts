/** A request's principal and its bearer token: what `Auth` and its JWT verifier share. */
import type { Headers } from "effect/http"

/** Who a request comes from (`Auth.Principal`). */
export interface Principal {
  /** The owner of what the request starts or reads: a run's `user_id`. */
  readonly userId: string
  readonly tenant?: string | undefined
  readonly scopes: ReadonlyArray<string>
}

/** The token of `Authorization: Bearer <token>`, if any. */
export const bearerToken = (headers: Headers.Headers): string | undefined => {
  const header = headers["authorization"]
  if (header === undefined || header.length < 8 || header.slice(0, 7).toLowerCase() !== "bearer ") return undefined
  const token = header.slice(7).trim()
  return token === "" ? undefined : token
}

/** What a request without credentials is told. */
export const missingCredentials = "Credentials are required: send Authorization: Bearer <token>"
