/**
 * Remembers the last id a connection sent in one position (source or dest).
 * Producers repeat their ids on every frame, so comparing a few bytes lets
 * the decoder skip UTF-8 validation and hand out the same string again.
 * The cache only ever holds valid UTF-8.
 */
export class IdCache {
  private bytes: Buffer = Buffer.alloc(0);
  private length = -1;
  private text: string | null = null;
  /** Bumped whenever the cached id changes; a view compares it to its own. */
  generation = 0;

  /**
   * If the id starting at `start` is the cached one, terminated before
   * `limit`, returns the terminator's position; else -1. One pass: the
   * cached id holds no 0 byte, so equal bytes plus a 0 right after them is
   * the whole check, with no separate scan for the terminator.
   */
  matchAt(buf: Buffer, start: number, limit: number): number {
    const n = this.length;
    const end = start + n;
    if (n < 0 || end >= limit || buf[end] !== 0) return -1;
    const bytes = this.bytes;
    for (let i = 0; i < n; i++) if (bytes[i] !== buf[start + i]) return -1;
    return end;
  }

  /** Caches buf[start, end), already validated. */
  store(buf: Buffer, start: number, end: number): void {
    const n = end - start;
    if (this.bytes.length < n) this.bytes = Buffer.allocUnsafeSlow(Math.max(n, 32));
    // A byte loop: ids are short, and Buffer#copy allocates a view per call on Node 20.
    const bytes = this.bytes;
    for (let i = 0; i < n; i++) bytes[i] = buf[start + i];
    this.length = n;
    this.text = null;
    this.generation++;
  }

  /** The cached id as a string, decoded once. */
  string(): string {
    return (this.text ??= this.bytes.toString('utf8', 0, this.length));
  }
}
