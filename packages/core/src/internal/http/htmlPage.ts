/** A self-contained HTML page of the app's own (playground, docs): its reply under a strict policy. */
import * as crypto from "node:crypto"
import { HttpServerResponse } from "effect/http"

const hash = (text: string) => `'sha256-${crypto.createHash("sha256").update(text).digest("base64")}'`

/**
 * The reply of a page whose only script and style are `script` and `style`,
 * inline: its Content-Security-Policy allows them by hash, requests to its
 * own origin only, and nothing else.
 */
export const htmlPage = (html: string, inline: { readonly script: string; readonly style: string }) =>
  HttpServerResponse.text(html, {
    contentType: "text/html; charset=utf-8",
    headers: {
      "content-security-policy": [
        "default-src 'none'",
        `script-src ${hash(inline.script)}`,
        `style-src ${hash(inline.style)}`,
        "connect-src 'self'",
        "img-src 'self' data:",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'"
      ].join("; "),
      "x-content-type-options": "nosniff",
      "referrer-policy": "no-referrer",
      "cache-control": "no-cache"
    }
  })
