import { randomFillSync } from "node:crypto"

/**
 * Random ids as flat strings. `crypto.randomUUID` joins its result from about
 * twenty pieces, and V8 keeps such a string as a rope of cons cells (about
 * 600 bytes) for as long as it lives; a run keeps several ids for its whole
 * life. These are written into a buffer and read out as one string instead.
 */

const pool = new Uint8Array(16 * 256)
let used = pool.length
const text = Buffer.alloc(36, "-")
const digits = Buffer.from("0123456789abcdef")
/** Where each byte's two hex digits go in `xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx`. */
const slots = [0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34]

/** A random (version 4) UUID. */
export const randomUuid = (): string => {
  if (used === pool.length) {
    randomFillSync(pool)
    used = 0
  }
  pool[used + 6] = (pool[used + 6] & 0x0f) | 0x40
  pool[used + 8] = (pool[used + 8] & 0x3f) | 0x80
  for (let i = 0; i < 16; i++) {
    const byte = pool[used + i]
    const at = slots[i]
    text[at] = digits[byte >> 4]
    text[at + 1] = digits[byte & 15]
  }
  used += 16
  return text.toString("latin1", 0, 36)
}

/** `<prefix>_<uuid>`, flat (`Array.prototype.join` builds one string where `+` builds a rope). */
export const prefixedId = (prefix: string): string => [prefix, randomUuid()].join("_")
