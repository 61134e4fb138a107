/**
 * Keeps a Map that is in the order of its latest writes within `max`
 * entries, dropping the oldest. It drops a sixteenth of `max` at a time:
 * V8 leaves deleted slots at the front of a Map until it rehashes, so that
 * dropping one entry per insert would scan them on every insert (microseconds
 * each once the Map is full, measured at 5 µs against 0.13 µs in batches).
 */
export const evictOldest = (map: Map<string, unknown>, max: number): void => {
  if (map.size <= max) return
  const keep = max - (max >> 4)
  for (const key of map.keys()) {
    if (map.size <= keep) return
    map.delete(key)
  }
}
