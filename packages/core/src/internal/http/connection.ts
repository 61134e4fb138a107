import * as NodeHttpServerRequest from "@effect/platform-node/NodeHttpServerRequest"
import { Effect } from "effect"
import type { HttpServerRequest } from "effect/http"

/** What the writer uses of a Node response (HTTP/1 `ServerResponse` or HTTP/2 compatibility). */
interface WritableResponse {
  readonly headersSent: boolean
  readonly writableEnded: boolean
  readonly destroyed: boolean
  readonly writableNeedDrain: boolean
  write(text: string): boolean
  once(event: "drain" | "close", listener: () => void): void
  off(event: "drain" | "close", listener: () => void): void
}

/**
 * Writes the chunks of a streamed response straight to the Node response of
 * a request, after the platform has written its head: text as it is (no
 * buffer copy), waiting for `drain` when the socket is backed up. Node corks
 * the socket for the rest of the tick on a response's first write, so the
 * writes of one tick leave in one system call.
 */
export class StreamWriter {
  /** The writer of this request's response; `undefined` on servers that are not Node's (HTTP/1 or HTTP/2). */
  static of(request: HttpServerRequest.HttpServerRequest): StreamWriter | undefined {
    const response = NodeHttpServerRequest.toServerResponse(request) as Partial<WritableResponse> | undefined
    if (response === undefined || typeof response.write !== "function" || typeof response.once !== "function") {
      return undefined
    }
    return new StreamWriter(response as WritableResponse)
  }

  private readonly response: WritableResponse

  private constructor(response: WritableResponse) {
    this.response = response
  }

  /**
   * Writes `text` if the head is out and the response is open and not backed
   * up (a keep-alive comment, which can be left out); whether it wrote.
   */
  tryWrite(text: string): boolean {
    const response = this.response
    if (!response.headersSent || response.writableEnded || response.destroyed || response.writableNeedDrain) return false
    return response.write(text)
  }

  /** Writes `text`, and waits until the socket takes more (or closes) if it is backed up. */
  write(text: string): Effect.Effect<void> {
    const response = this.response
    if (response.writableEnded || response.destroyed) return Effect.void
    return response.write(text) ? Effect.void : this.drained()
  }

  private drained(): Effect.Effect<void> {
    const response = this.response
    return Effect.callback<void>((resume) => {
      const done = () => {
        response.off("drain", done)
        response.off("close", done)
        resume(Effect.void)
      }
      response.once("drain", done)
      response.once("close", done)
      return Effect.sync(() => {
        response.off("drain", done)
        response.off("close", done)
      })
    })
  }
}
