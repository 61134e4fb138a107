/** `GET /playground`: the page to try the app's agent from a browser. */
import { Effect, Layer } from "effect"
import { HttpRouter } from "effect/http"
import { register } from "../../Health.ts"
import { page, type PageConfig } from "../playground/page.ts"

export const playgroundRoute = (path: HttpRouter.PathInput, config: PageConfig) =>
  // built once: the page is the same for every request
  Layer.merge(HttpRouter.add("GET", path, Effect.succeed(page(config))), register("playground", path))
