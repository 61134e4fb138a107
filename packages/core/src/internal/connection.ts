import * as NodeHttpServerRequest from "@effect/platform-node/NodeHttpServerRequest"
import type { HttpServerRequest } from "effect/http"

/**
 * A function that makes the connection of this request close once its
 * response ends, instead of staying open for keep-alive. Shutdown uses it on
 * the streams in flight, so that the server can close as soon as they end.
 * A no-op on servers that are not Node HTTP/1.
 */
export const closeAfterResponse = (request: HttpServerRequest.HttpServerRequest): () => void => () => {
  const response = NodeHttpServerRequest.toServerResponse(request) as Partial<NodeResponseInternals> | undefined
  if (response === undefined || typeof response.shouldKeepAlive !== "boolean") return
  response.shouldKeepAlive = false
  // Once the headers are out, Node reads `_last` (not `shouldKeepAlive`) when the response finishes.
  if (response.headersSent) response._last = true
}

interface NodeResponseInternals {
  shouldKeepAlive: boolean
  headersSent: boolean
  _last: boolean
}

/**
 * Writes text straight to the response of this request, once its headers are
 * out and while it is open and not backed up; `false` when it did not write.
 * `undefined` on servers that are not Node HTTP/1.
 */
export const rawWriter = (request: HttpServerRequest.HttpServerRequest): ((text: string) => boolean) | undefined => {
  const response = NodeHttpServerRequest.toServerResponse(request) as Partial<WritableResponse> | undefined
  if (response === undefined || typeof response.write !== "function") return undefined
  const writable = response as WritableResponse
  return (text) => {
    if (!writable.headersSent || writable.writableEnded || writable.destroyed || writable.writableNeedDrain) return false
    return writable.write(text)
  }
}

interface WritableResponse {
  readonly headersSent: boolean
  readonly writableEnded: boolean
  readonly destroyed: boolean
  readonly writableNeedDrain: boolean
  write(text: string): boolean
}
