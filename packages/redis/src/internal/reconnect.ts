/** ioredis reconnects at growing intervals, at most 2 s apart (`RedisInterrupt`'s `settle` counts on it). */
export const reconnectDelay = (times: number): number => Math.min(50 * 2 ** Math.min(times, 6), 2_000)
