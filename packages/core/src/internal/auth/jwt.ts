/**
 * Bearer JWTs verified with `jose` (loaded only by apps that use them), and
 * remembered once verified until they expire: a client sends the same token
 * on every request, and a signature check costs far more than a lookup.
 */
import { Effect, Redacted } from "effect"
import type { Headers } from "effect/http"
import { evictOldest } from "../util/bounded.ts"
import { bearerToken, missingCredentials, type Principal } from "./principal.ts"

/** Tokens remembered at most; the oldest are forgotten first. */
const maxRemembered = 10_000

/** How long a token without `exp` is remembered, ms. */
const rememberWithoutExpiry = 60_000

const claimText = (value: unknown): string | undefined =>
  typeof value === "string" && value !== "" ? value : typeof value === "number" ? String(value) : undefined

const scopesOf = (value: unknown): ReadonlyArray<string> =>
  typeof value === "string" ? value.split(" ").filter((scope) => scope !== "") :
  Array.isArray(value) ? value.filter((scope): scope is string => typeof scope === "string") :
  []

/** How bearer JWTs are verified (`Auth.JwtOptions`). */
export interface JwtOptions {
  /** Where the signing keys are published (a JWKS); keys are cached, and an unknown `kid` refetches them. */
  readonly jwksUrl?: string | URL | undefined
  /** Or one key: a PEM public key (SPKI), or an HMAC secret. */
  readonly key?: Redacted.Redacted | string | undefined
  readonly issuer?: string | ReadonlyArray<string> | undefined
  readonly audience?: string | ReadonlyArray<string> | undefined
  /** Allowed clock skew, seconds (default 30). */
  readonly clockTolerance?: number | undefined
  /** The claim that holds the user id (default `sub`). */
  readonly userClaim?: string | undefined
  /** The claim that holds the tenant, if any. */
  readonly tenantClaim?: string | undefined
  /** The claim of the scopes: a space-separated string or an array (default `scope`). */
  readonly scopesClaim?: string | undefined
  /** Accepted algorithms (default: what the key allows). */
  readonly algorithms?: ReadonlyArray<string> | undefined
  /** Least time between two fetches of the JWKS, ms (default 30,000): how soon a rotated key is picked up. */
  readonly jwksCooldown?: number | undefined
  /** How long fetched keys are trusted, ms (default 600,000): a withdrawn key is accepted until then. */
  readonly jwksMaxAge?: number | undefined
}

/** The verifier: headers to a principal, or the failure `unauthorized` makes of a message. */
export const makeJwt = <E>(
  options: JwtOptions,
  unauthorized: (message: string) => E
): Effect.Effect<{ readonly authenticate: (headers: Headers.Headers) => Effect.Effect<Principal, E> }> =>
  Effect.promise(async () => {
    const jose = await import("jose")
    const key = options.key === undefined ? undefined : Redacted.isRedacted(options.key) ? String(Redacted.value(options.key)) : options.key
    if ((options.jwksUrl === undefined) === (key === undefined)) {
      throw new Error("Auth.jwt needs either jwksUrl or key")
    }
    const verifyKey = options.jwksUrl !== undefined
      ? jose.createRemoteJWKSet(new URL(options.jwksUrl), {
        cooldownDuration: options.jwksCooldown ?? 30_000,
        cacheMaxAge: options.jwksMaxAge ?? 600_000
      })
      : key!.startsWith("-----BEGIN")
      ? await jose.importSPKI(key!, options.algorithms?.[0] ?? "RS256")
      : new TextEncoder().encode(key)
    const verifyOptions = {
      clockTolerance: options.clockTolerance ?? 30,
      ...(options.issuer === undefined ? {} : { issuer: options.issuer as string | Array<string> }),
      ...(options.audience === undefined ? {} : { audience: options.audience as string | Array<string> }),
      ...(options.algorithms === undefined ? {} : { algorithms: [...options.algorithms] })
    }
    const userClaim = options.userClaim ?? "sub"
    const scopesClaim = options.scopesClaim ?? "scope"
    const remembered = new Map<string, { readonly principal: Principal; readonly until: number }>()

    const verify = async (token: string): Promise<Principal | string> => {
      try {
        const { payload } = typeof verifyKey === "function"
          ? await jose.jwtVerify(token, verifyKey, verifyOptions)
          : await jose.jwtVerify(token, verifyKey, verifyOptions)
        const userId = claimText(payload[userClaim])
        if (userId === undefined) return `The token has no ${userClaim} claim`
        const tenant = options.tenantClaim === undefined ? undefined : claimText(payload[options.tenantClaim])
        const principal: Principal = { userId, tenant, scopes: scopesOf(payload[scopesClaim]) }
        const until = payload.exp === undefined ? Date.now() + rememberWithoutExpiry : payload.exp * 1000
        remembered.set(token, { principal, until })
        evictOldest(remembered, maxRemembered)
        return principal
      } catch (error) {
        // jose's messages name the failed check (expired, signature, audience) and never the key
        return error instanceof jose.errors.JOSEError ? `The token is not valid: ${error.message}` : "The token is not valid"
      }
    }

    return {
      authenticate: (headers) => {
        const token = bearerToken(headers)
        if (token === undefined) return Effect.fail(unauthorized(missingCredentials))
        const known = remembered.get(token)
        if (known !== undefined && known.until > Date.now()) return Effect.succeed(known.principal)
        return Effect.flatMap(
          Effect.promise(() => verify(token)),
          (result) => typeof result === "string" ? Effect.fail(unauthorized(result)) : Effect.succeed(result)
        )
      }
    }
  })
