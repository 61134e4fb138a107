/** A local OTLP/HTTP receiver (JSON) on an ephemeral port: what an app exported, by signal. */
import * as http from "node:http"
import type { AddressInfo } from "node:net"

export interface Span {
  readonly name: string
  readonly traceId: string
  readonly spanId: string
  readonly parentSpanId?: string
  readonly attributes: Record<string, unknown>
}

const valueOf = (value: any): unknown =>
  value === undefined ? undefined : value.stringValue ?? value.intValue ?? value.doubleValue ?? value.boolValue ?? value

const attributesOf = (list: ReadonlyArray<{ key: string; value: unknown }> | undefined) =>
  Object.fromEntries((list ?? []).map(({ key, value }) => [key, valueOf(value)]))

export const startOtlpReceiver = async () => {
  const spans: Array<Span> = []
  const metrics = new Map<string, Array<any>>()
  const logs: Array<{ readonly body: unknown; readonly traceId?: string }> = []
  let requests = 0
  const server = http.createServer((request, reply) => {
    let body = ""
    request.on("data", (chunk) => (body += chunk))
    request.on("end", () => {
      requests++
      const data = body === "" ? {} : JSON.parse(body)
      if (request.url === "/v1/traces") {
        for (const resource of data.resourceSpans ?? []) {
          for (const scope of resource.scopeSpans ?? []) {
            for (const span of scope.spans ?? []) spans.push({ ...span, attributes: attributesOf(span.attributes) })
          }
        }
      }
      if (request.url === "/v1/metrics") {
        for (const resource of data.resourceMetrics ?? []) {
          for (const scope of resource.scopeMetrics ?? []) {
            for (const metric of scope.metrics ?? []) metrics.set(metric.name, [...(metrics.get(metric.name) ?? []), metric])
          }
        }
      }
      if (request.url === "/v1/logs") {
        for (const resource of data.resourceLogs ?? []) {
          for (const scope of resource.scopeLogs ?? []) {
            for (const record of scope.logRecords ?? []) logs.push({ body: valueOf(record.body), traceId: record.traceId })
          }
        }
      }
      reply.writeHead(200, { "content-type": "application/json" }).end("{}")
    })
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    spans,
    metrics,
    logs,
    requests: () => requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve()))
  }
}
