/** `GET /playground`: the page to try the app's agent from a browser. */
import { Effect, Layer } from "effect"
import { HttpRouter, HttpServerResponse } from "effect/http"
import { register } from "../../Health.ts"
import { contentSecurityPolicy, page, type PageConfig } from "../playground/page.ts"

export const playgroundRoute = (path: HttpRouter.PathInput, config: PageConfig) => {
  // built once: the page is the same for every request
  const reply = HttpServerResponse.text(page(config), {
    contentType: "text/html; charset=utf-8",
    headers: {
      "content-security-policy": contentSecurityPolicy,
      "x-content-type-options": "nosniff",
      "referrer-policy": "no-referrer",
      "cache-control": "no-cache"
    }
  })
  return Layer.merge(HttpRouter.add("GET", path, Effect.succeed(reply)), register("playground", path))
}
