import { Context, Effect, Layer, Scope } from "effect"
import { FindMyWay, HttpRouter, HttpServerError, HttpServerRequest, HttpServerResponse } from "effect/http"
import * as HttpError from "./httpError.ts"

/** Route parameters (a task id) may be this long; a longer one still reaches its route, which answers 404. */
const maxParamLength = 2_048

const methods = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] as const

/**
 * The app's router, recording the method and path of every route added, so
 * that a request that matches no route gets the right JSON answer: 405 with
 * `Allow` when the path exists for other methods, 400 for a path that is not
 * valid percent-encoding, else 404. `HEAD` is answered by a `GET` route.
 */
const makeRouter = Effect.fnUntraced(function*(accept: (path: string) => boolean, onRoute: (method: string, path: string) => void) {
  const config = yield* HttpRouter.RouterConfig
  const routerConfig = { maxParamLength, ...config }
  const router = yield* Effect.provideService(HttpRouter.make, HttpRouter.RouterConfig, routerConfig)
  const index = FindMyWay.make<true>(routerConfig)
  const record = (method: string, path: HttpRouter.PathInput) => {
    if (method === "*" || path === "*") return
    if (index.has(method, path)) return
    index.on(method, path, true)
    onRoute(method, path)
    if (path.endsWith("/*")) index.on(method, path.slice(0, -2) as HttpRouter.PathInput, true)
  }

  const unmatched = (request: HttpServerRequest.HttpServerRequest): HttpServerResponse.HttpServerResponse => {
    const query = request.url.indexOf("?")
    const path = query === -1 ? request.url : request.url.slice(0, query)
    try {
      decodeURI(path)
    } catch {
      return HttpError.errorResponse(400, "invalid_request", "The request path is not valid percent-encoding")
    }
    const allowed = methods.filter((method) => index.find(method, request.url) !== undefined)
    if (allowed.length > 0) {
      const allow = allowed.includes("GET") ? [...allowed, "HEAD"] : allowed
      return HttpServerResponse.setHeader(
        HttpError.errorResponse(405, "method_not_allowed", `${request.method} is not allowed on ${path}; use ${allow.join(", ")}`),
        "allow",
        allow.join(", ")
      )
    }
    return HttpError.errorResponse(404, "not_found", `No route for ${request.method} ${path}`)
  }
  const isRouteNotFound = (error: unknown): error is HttpServerError.HttpServerError =>
    error instanceof HttpServerError.HttpServerError && error.reason._tag === "RouteNotFound"

  return HttpRouter.HttpRouter.of({
    ...router,
    add: (method, path, handler, options) => {
      if (!accept(path)) return Effect.void
      record(method, path)
      return router.add(method, path, handler, options)
    },
    addAll: (routes) => {
      const accepted = routes.filter((route) => accept(route.path))
      for (const route of accepted) record(route.method, route.path)
      return router.addAll(accepted) as ReturnType<typeof router.addAll<typeof routes>>
    },
    asHttpEffect: () =>
      Effect.catchIf(
        router.asHttpEffect(),
        isRouteNotFound,
        () => HttpServerRequest.HttpServerRequest.useSync(unmatched)
      )
  })
})

/**
 * `HttpRouter.toHttpEffect` on the app's router: builds the app's layers in
 * the current scope and gives the HTTP handler of their routes, those whose
 * path `accept` takes (a worker serves only its health routes).
 */
export type RoutesEffect<R> = Effect.Effect<
  HttpServerResponse.HttpServerResponse,
  HttpRouter.Request.Only<"Error", R> | HttpRouter.Request.Only<"GlobalError", R> | HttpServerError.HttpServerError,
  | Scope.Scope
  | HttpServerRequest.HttpServerRequest
  | HttpRouter.Request.Only<"Requires", R>
  | HttpRouter.Request.Only<"GlobalRequires", R>
>

export const toHttpEffect = <A, E, R>(
  appLayer: Layer.Layer<A, E, R>,
  accept: (path: string) => boolean,
  onRoute: (method: string, path: string) => void = () => {}
): Effect.Effect<
  RoutesEffect<R>,
  HttpRouter.Request.Without<E>,
  Exclude<HttpRouter.Request.Without<R>, HttpRouter.HttpRouter> | Scope.Scope
> =>
  // the router keeps its routes untyped: what the layer's routes require and fail with is in `R`
  // (`HttpRouter.toHttpEffect` types its result the same way)
  Effect.contextWith((context: Context.Context<Scope.Scope>) => {
    const scope = Context.get(context, Scope.Scope)
    const memoMap = Layer.CurrentMemoMap.forkOrCreate(context)
    const routerLayer = Layer.effect(HttpRouter.HttpRouter, makeRouter(accept, onRoute))
    return Effect.map(
      Layer.buildWithMemoMap(Layer.provideMerge(appLayer, routerLayer), memoMap, scope),
      (built) => Context.get(built, HttpRouter.HttpRouter).asHttpEffect() as RoutesEffect<R>
    )
  }) as Effect.Effect<RoutesEffect<R>, HttpRouter.Request.Without<E>, Exclude<HttpRouter.Request.Without<R>, HttpRouter.HttpRouter> | Scope.Scope>
