/**
 * Who is calling: the `Auth` service turns a request's headers into a
 * {@link Principal} or a 401. Provide one of its layers next to the app
 * (`Auth.layerApiKeys`, `Auth.layerJwt`, `Auth.layer` for anything else) and
 * every route but the health probes (and the A2A agent card, which tells
 * clients how to authenticate) requires credentials, the routes an app adds
 * included. The principal's user id is then the owner of the runs, sessions
 * and tasks it starts: another user's are not found.
 *
 * @example
 * ```ts
 * import { Auth } from "@agentapp/core"
 * import { Config } from "effect"
 *
 * // API_KEYS="key-a=alice,key-b=bob": `Authorization: Bearer key-a` is alice
 * const auth = Auth.layerApiKeysConfig(Config.Redacted("API_KEYS"))
 * ```
 *
 * @since 0.1.0
 */
import { Config, ConfigProvider, Context, Effect, Layer, Redacted, Schema } from "effect"
import { type Headers, HttpServerRespondable, HttpServerResponse } from "effect/http"
import * as crypto from "node:crypto"
import { errorResponse } from "./internal/http/httpError.ts"
import * as jwtModule from "./internal/auth/jwt.ts"
import * as principal from "./internal/auth/principal.ts"

/**
 * Who a request comes from: its user id (the owner of what it starts or
 * reads), tenant and scopes.
 *
 * @since 0.1.0
 */
export type Principal = principal.Principal

/**
 * The principal of the current request, for an app's own routes and
 * endpoints: `Effect.serviceOption(Auth.CurrentPrincipal)` (absent when the
 * app has no `Auth`).
 *
 * @since 0.1.0
 */
export class CurrentPrincipal extends Context.Service<CurrentPrincipal, Principal>()("@agentapp/core/Auth/CurrentPrincipal") {}

/**
 * No credentials, or credentials that do not hold: 401 `unauthorized`, with
 * `WWW-Authenticate: Bearer`. The message says what is wrong, never a secret.
 *
 * @since 0.1.0
 */
export class Unauthorized extends Schema.TaggedError<Unauthorized>()("Unauthorized", {
  message: Schema.String
}) {
  [HttpServerRespondable.symbol]() {
    return Effect.succeed(
      HttpServerResponse.setHeader(errorResponse(401, "unauthorized", this.message), "www-authenticate", "Bearer")
    )
  }
}

/**
 * A request that names another user than its principal: 403 `forbidden`.
 *
 * @since 0.1.0
 */
export class Forbidden extends Schema.TaggedError<Forbidden>()("Forbidden", {
  message: Schema.String
}) {
  [HttpServerRespondable.symbol]() {
    return Effect.succeed(errorResponse(403, "forbidden", this.message))
  }
}

/**
 * Turns a request's headers into a principal. Called once per request
 * (and once per `/rpc` call); it should be cheap or cache what it can.
 *
 * @since 0.1.0
 */
export class Auth extends Context.Service<Auth, {
  readonly authenticate: (headers: Headers.Headers) => Effect.Effect<Principal, Unauthorized>
}>()("@agentapp/core/Auth") {}

/**
 * The bearer token of `Authorization: Bearer <token>`, if any.
 *
 * @since 0.1.0
 */
export const bearerToken: (headers: Headers.Headers) => string | undefined = principal.bearerToken

const missing = new Unauthorized({ message: principal.missingCredentials })

/**
 * A custom authentication (a session cookie, mTLS headers set by a proxy):
 * any Effect from headers to a principal.
 *
 * @since 0.1.0
 */
export const layer = (authenticate: (headers: Headers.Headers) => Effect.Effect<Principal, Unauthorized>): Layer.Layer<Auth> =>
  Layer.succeed(Auth, { authenticate })

const digest = (key: string) => crypto.hash("sha256", key, "base64")

/**
 * API keys, each mapped to its user: `Authorization: Bearer <key>`. Keys are
 * kept as digests and compared by them, so that a lookup's time does not
 * depend on how much of a key matched.
 *
 * @since 0.1.0
 */
export const apiKeys = (keys: ReadonlyMap<string, string> | Readonly<Record<string, string>>): Auth["Service"] => {
  const users = new Map<string, Principal>()
  const entries = keys instanceof Map ? [...keys] : Object.entries(keys)
  for (const [key, userId] of entries) users.set(digest(key), { userId, scopes: [] })
  const invalid = Effect.fail(new Unauthorized({ message: "The API key is not valid" }))
  return {
    authenticate: (headers) => {
      const token = bearerToken(headers)
      if (token === undefined) return Effect.fail(missing)
      const principal = users.get(digest(token))
      return principal === undefined ? invalid : Effect.succeed(principal)
    }
  }
}

/**
 * Parses `key=user` pairs separated by commas (`"key-a=alice,key-b=bob"`).
 *
 * @since 0.1.0
 */
export const parseApiKeys = (text: string): Map<string, string> => {
  const keys = new Map<string, string>()
  for (const pair of text.split(",")) {
    if (pair.trim() === "") continue
    const at = pair.indexOf("=")
    const key = at === -1 ? "" : pair.slice(0, at).trim()
    const user = at === -1 ? "" : pair.slice(at + 1).trim()
    // the key is not echoed: the message may reach a log
    if (key === "" || user === "") throw new Error(`API keys are key=user pairs separated by commas; pair ${keys.size + 1} is not`)
    keys.set(key, user)
  }
  if (keys.size === 0) throw new Error("No API key is given")
  return keys
}

/**
 * {@link apiKeys} as a layer.
 *
 * @since 0.1.0
 */
export const layerApiKeys = (keys: ReadonlyMap<string, string> | Readonly<Record<string, string>>): Layer.Layer<Auth> =>
  Layer.succeed(Auth, apiKeys(keys))

/**
 * {@link apiKeys} from configuration: `key=user` pairs separated by commas
 * (see {@link parseApiKeys}), redacted.
 *
 * @since 0.1.0
 */
export const layerApiKeysConfig = (config: Config.Config<Redacted.Redacted>): Layer.Layer<Auth, Config.ConfigError> =>
  Layer.effect(
    Auth,
    Config.flatMap(config, (text) => {
      try {
        return Config.succeed(apiKeys(parseApiKeys(Redacted.value(text) as string)))
      } catch (error) {
        return Config.fail(new ConfigProvider.SourceError({ message: (error as Error).message }))
      }
    })
  )

/**
 * How bearer JWTs are verified: a JWKS URL or a key, issuer, audience, clock
 * skew, and the claims that hold the user id, tenant and scopes.
 *
 * @since 0.1.0
 */
export type JwtOptions = jwtModule.JwtOptions

/**
 * Bearer JWTs (verified with `jose`): signature, expiry, issuer and audience.
 * A verified token is remembered until it expires, so that a client's next
 * requests cost a lookup.
 *
 * @since 0.1.0
 */
export const jwt = (options: JwtOptions): Effect.Effect<Auth["Service"]> =>
  jwtModule.makeJwt(options, (message) => new Unauthorized({ message }))

/**
 * {@link jwt} as a layer.
 *
 * @since 0.1.0
 */
export const layerJwt = (options: JwtOptions): Layer.Layer<Auth> => Layer.effect(Auth, jwt(options))
