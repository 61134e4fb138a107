/**
 * Bearer JWTs: tokens signed by keys that a local JWKS server publishes on an
 * ephemeral port, checked by an app served with `Auth.layerJwt`: signature,
 * expiry, issuer, audience, the user claim; a rotated key is picked up; the
 * token's user owns the runs it starts.
 */
import { Auth } from "@agentapp/core"
import { describe, expect, it, layer } from "@effect/vitest"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { Effect, Layer } from "effect"
import { HttpServer } from "effect/http"
import * as jose from "jose"
import { createServer, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import { userText } from "../../../test/support/sse.ts"
import { makeApp } from "./fixtures/TestApp.ts"

/** A JWKS server: the keys it publishes can be swapped, and it counts its requests. */
const jwks = await (async () => {
  let keys: Array<jose.JWK> = []
  let fetched = 0
  const server: Server = createServer((_, reply) => {
    fetched++
    reply.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ keys }))
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`,
    publish: (...published: Array<jose.JWK>) => (keys = published),
    fetched: () => fetched
  }
})()

const signer = async (kid: string) => {
  const { privateKey, publicKey } = await jose.generateKeyPair("RS256")
  const jwk = { ...(await jose.exportJWK(publicKey)), kid, alg: "RS256", use: "sig" }
  const sign = (claims: jose.JWTPayload, options: { readonly expiresIn?: string; readonly issuer?: string; readonly audience?: string } = {}) =>
    new jose.SignJWT(claims)
      .setProtectedHeader({ alg: "RS256", kid })
      .setIssuedAt()
      .setIssuer(options.issuer ?? "https://issuer.test")
      .setAudience(options.audience ?? "agentapp")
      .setExpirationTime(options.expiresIn ?? "5m")
      .sign(privateKey)
  return { jwk, sign }
}

const first = await signer("key-1")
const rotated = await signer("key-2")
jwks.publish(first.jwk)

const auth = Auth.layerJwt({
  jwksUrl: jwks.url,
  issuer: "https://issuer.test",
  audience: "agentapp",
  // the default cooldown (30 s) spaces JWKS fetches; the rotation below must not wait for it
  jwksCooldown: 0
})

const serverOn = <A, E, R>(app: Layer.Layer<A, E, R>) =>
  app.pipe(Layer.provide(auth), Layer.provideMerge(NodeHttpServer.layer(createServer, { port: 0, host: "127.0.0.1" })))
const promise = <A>(f: (url: string) => Promise<A>) =>
  Effect.flatMap(HttpServer.addressFormattedWith((url) => Effect.succeed(url)), (url) => Effect.promise(() => f(url)))

const post = (url: string, token: string | undefined, body: unknown) =>
  fetch(`${url}/process`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(token === undefined ? {} : { authorization: `Bearer ${token}` }) },
    body: JSON.stringify(body)
  })

describe("Auth.jwt", () => {
  layer(serverOn(makeApp().Main), { excludeTestServices: true })("an app behind JWTs from a JWKS", (it) => {
    it.effect("a valid token passes, and its subject owns the run; expired, foreign, misdirected or unsigned tokens are 401", () =>
      promise(async (url) => {
        const token = await first.sign({ sub: "carol", scope: "agent:run" })
        const reply = await post(url, token, { ...userText("x"), stream: false })
        expect(reply.status).toBe(200)
        const response: any = await reply.json()
        expect((await fetch(`${url}/process/${response.id}`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200)
        const dave = await first.sign({ sub: "dave" })
        expect((await fetch(`${url}/process/${response.id}`, { headers: { authorization: `Bearer ${dave}` } })).status).toBe(404)
        expect((await post(url, dave, { ...userText("x"), user_id: "carol" })).status).toBe(403)

        const refused = [
          ["expired", await first.sign({ sub: "carol" }, { expiresIn: "-5m" })],
          ["another issuer", await first.sign({ sub: "carol" }, { issuer: "https://elsewhere.test" })],
          ["another audience", await first.sign({ sub: "carol" }, { audience: "someone-else" })],
          ["no subject", await first.sign({})],
          ["not a JWT", "abc.def.ghi"],
          ["signed by an unpublished key", await (await signer("key-x")).sign({ sub: "carol" })],
          ["no token", undefined]
        ] as const
        for (const [why, bad] of refused) {
          const answer = await post(url, bad, userText("x"))
          expect(answer.status, why).toBe(401)
          const body: any = await answer.json()
          expect(body.error.code, why).toBe("unauthorized")
          // the reason is told, never a key
          expect(body.error.message, why).not.toContain("BEGIN")
        }
      }))

    it.effect("a rotated key is picked up at once: the JWKS is fetched again for an unknown kid", () =>
      promise(async (url) => {
        const before = jwks.fetched()
        jwks.publish(first.jwk, rotated.jwk)
        const token = await rotated.sign({ sub: "carol" })
        expect((await post(url, token, { ...userText("x"), stream: false })).status).toBe(200)
        expect(jwks.fetched()).toBeGreaterThan(before)
        // a verified token is remembered: the next request fetches nothing
        const after = jwks.fetched()
        expect((await post(url, token, { ...userText("x"), stream: false })).status).toBe(200)
        expect(jwks.fetched()).toBe(after)
      }))
  })

  // a custom check: the user a trusted proxy puts in a header
  const custom = Auth.layer((headers) =>
    headers["x-user"] === undefined
      ? Effect.fail(new Auth.Unauthorized({ message: "No x-user header" }))
      : Effect.succeed({ userId: headers["x-user"], scopes: [] })
  )
  layer(makeApp().Main.pipe(Layer.provide(custom), Layer.provideMerge(NodeHttpServer.layer(createServer, { port: 0, host: "127.0.0.1" }))), { excludeTestServices: true })("an app behind a custom check", (it) => {
    it.effect("the check's user owns the run; without the header the check's own message is the 401", () =>
      promise(async (url) => {
        const refused = await fetch(`${url}/process`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(userText("x")) })
        expect(refused.status).toBe(401)
        expect(((await refused.json()) as any).error.message).toBe("No x-user header")
        const reply = await fetch(`${url}/process`, {
          method: "POST",
          headers: { "content-type": "application/json", "x-user": "erin" },
          body: JSON.stringify({ ...userText("x"), stream: false })
        })
        const response: any = await reply.json()
        expect((await fetch(`${url}/process/${response.id}`, { headers: { "x-user": "erin" } })).status).toBe(200)
        expect((await fetch(`${url}/process/${response.id}`, { headers: { "x-user": "frank" } })).status).toBe(404)
      }))
  })

  describe("API keys from configuration", () => {
    it("parses key=user pairs and refuses a malformed list without echoing a key", () => {
      expect([...Auth.parseApiKeys(" key-a=alice, key-b=bob ,")]).toEqual([["key-a", "alice"], ["key-b", "bob"]])
      expect(() => Auth.parseApiKeys("secret-key-without-user")).toThrow(/pair 1/)
      expect(() => Auth.parseApiKeys("secret-key-without-user")).not.toThrow(/secret/)
      expect(() => Auth.parseApiKeys("")).toThrow(/No API key/)
    })
  })
})
