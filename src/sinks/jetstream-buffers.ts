/**
 * Reuse of the jetstream handler's message copies. Each message is copied
 * out of the ring once (jetstream-message.ts); at hundreds of MB/s those
 * fresh buffers are what drives V8's collections ("external memory
 * pressure": a mark-compact about every 150 ms at 16 KiB frames), so a
 * buffer whose message was acknowledged goes back here for a later message.
 *
 * Safe only once the NATS client no longer refers to it: the client copies
 * a payload into its outbound buffer when it flushes, and the server can
 * only acknowledge what was flushed. The publisher therefore gives back a
 * buffer only after the PubAck of the first (only) attempt; a republished
 * message's copy is left to the garbage collector (an older attempt may
 * still wait in the client's outbound buffer after a disconnect).
 *
 * Buffers come in classes of 64 KiB steps (at most 64 KiB unused per
 * message, so maxInFlight x maxMessageBytes still bounds the copies, plus
 * one step each); at most `keepBytes` wait for reuse.
 */

const STEP = 64 * 1024;

export class MessageBuffers {
  private readonly free = new Map<number, Buffer[]>();
  private kept = 0;

  constructor(private readonly keepBytes = 16 * 1024 * 1024) {}

  /** A buffer of exactly `bytes` (a view of a pooled one from one step up). */
  take(bytes: number): Buffer {
    if (bytes < STEP) return Buffer.allocUnsafe(bytes);
    const size = Math.ceil(bytes / STEP) * STEP;
    const list = this.free.get(size);
    const whole = list?.pop();
    if (whole === undefined) return Buffer.allocUnsafe(size).subarray(0, bytes);
    this.kept -= size;
    return whole.subarray(0, bytes);
  }

  /** `data` from take() is no longer referred to by anyone. */
  give(data: Buffer): void {
    const whole = Buffer.from(data.buffer, data.byteOffset, data.buffer.byteLength - data.byteOffset);
    const size = whole.length;
    if (data.length < STEP || data.byteOffset !== 0 || size % STEP !== 0 || this.kept + size > this.keepBytes) return;
    let list = this.free.get(size);
    if (list === undefined) this.free.set(size, (list = []));
    list.push(whole);
    this.kept += size;
  }
}
