/** The part of autocannon's API the benchmarks use (it ships no types). */
declare module "autocannon" {
  interface Options {
    readonly url: string
    readonly method?: string
    readonly headers?: Record<string, string>
    readonly body?: string
    readonly connections?: number
    readonly duration?: number
    readonly idReplacement?: boolean
    readonly pipelining?: number
    /** Requests per second over all connections. */
    readonly overallRate?: number
    /** Called with each connection's client as it is made. */
    readonly setupClient?: (client: { setBody: (body: string) => void }) => void
  }
  interface Histogram {
    readonly average: number
    readonly p50: number
    readonly p90: number
    readonly p99: number
    readonly max: number
    readonly total: number
  }
  interface Result {
    readonly requests: Histogram
    readonly latency: Histogram
    readonly throughput: Histogram
    readonly errors: number
    readonly timeouts: number
    readonly non2xx: number
  }
  function autocannon(options: Options): Promise<Result>
  export default autocannon
}
