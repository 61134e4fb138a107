/**
 * Text kept as UTF-8 in one preallocated ring of bytes, the oldest written
 * over first: memory bounded in bytes, and nothing for the GC to copy (a log
 * of strings on the JS heap would be copied by every collection that
 * promotes it, a large part of a request's CPU at a high request rate).
 */
const encoder = new TextEncoder()
const decoder = new TextDecoder()

export class ByteRing {
  private bytes: Uint8Array | undefined = undefined
  private readonly size: number
  /** Where the next text goes, counted from the first byte ever written. */
  private head = 0
  /** The byte length of the last text written. */
  lastLength = 0

  constructor(size: number) {
    this.size = size
  }

  /** Writes `text`; its position, or -1 when it is too large for the ring (over a quarter of it). */
  write(text: string): number {
    // a UTF-16 code unit takes at most 3 bytes in UTF-8
    if (text.length * 3 > this.size / 4) {
      const exact = Buffer.byteLength(text)
      if (exact > this.size / 4) return -1
    }
    // allocated on first use: an app that never logs a run costs nothing
    const bytes = this.bytes ??= new Uint8Array(this.size)
    let at = this.head % this.size
    let result = encoder.encodeInto(text, bytes.subarray(at))
    if (result.read < text.length) {
      // it does not fit before the end: the rest of the ring is skipped, and it starts over
      this.head += this.size - at
      at = 0
      result = encoder.encodeInto(text, bytes.subarray(0))
    }
    const position = this.head
    this.head += result.written
    this.lastLength = result.written
    return position
  }

  /** Whether the text at `position` is still there (not written over). */
  holds(position: number): boolean {
    return position >= this.head - this.size
  }

  /** The text of `length` bytes at `position`, if it is still there. */
  read(position: number, length: number): string | undefined {
    if (!this.holds(position) || this.bytes === undefined) return undefined
    const at = position % this.size
    return decoder.decode(this.bytes.subarray(at, at + length))
  }
}
