/**
 * Keeps a Map that is in the order of its latest writes within `max`
 * entries, dropping the oldest, a sixteenth of `max` at a time (one per
 * insert would scan the deleted slots V8 leaves at the front on every insert).
 */
export const evictOldest = (map: Map<string, unknown>, max: number): void => {
  if (map.size <= max) return
  const keep = max - (max >> 4)
  for (const key of map.keys()) {
    if (map.size <= keep) return
    map.delete(key)
  }
}

/**
 * How long an entry that was just moved to the newest end of its Map stays
 * where it is when it is used again: moving on every use makes V8 rehash a
 * full Map every few hundred moves; the order stays right to within this.
 */
export const moveEveryMs = 1_000
