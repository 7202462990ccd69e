/**
 * Counts whole frames in a byte stream fed in arbitrary chunks, from the
 * length fields alone: enough to report packets when replaying a capture
 * without parsing it. Validation is the server's job; at the first head that
 * cannot start a frame (bad magic, header_len < 26) counting stops for good.
 */
import { MAGIC_U32, MIN_HEADER_LEN, OFFSET_HEADER_LEN, OFFSET_PAYLOAD_LEN } from '../../src/wire/constants.js';

/** magic, version, flags, header_len, payload_len: all the lengths need. */
const HEAD_BYTES = 12;

export class FrameCounter {
  /** Frames whose last byte has been seen. */
  frames = 0;
  /** False once the stream stopped looking like frames. */
  framed = true;
  private readonly head = Buffer.alloc(HEAD_BYTES);
  private headFill = 0;
  /** Bytes of the current frame still to come after its head. */
  private rest = 0;

  push(chunk: Buffer): void {
    let i = 0;
    while (i < chunk.length && this.framed) {
      if (this.rest > 0) {
        const n = Math.min(this.rest, chunk.length - i);
        this.rest -= n;
        i += n;
        if (this.rest === 0) this.frames++;
        continue;
      }
      const n = Math.min(HEAD_BYTES - this.headFill, chunk.length - i);
      chunk.copy(this.head, this.headFill, i, i + n);
      this.headFill += n;
      i += n;
      if (this.headFill < HEAD_BYTES) continue;
      this.headFill = 0;
      const headerLen = this.head.readUInt16LE(OFFSET_HEADER_LEN);
      if (this.head.readUInt32LE(0) !== MAGIC_U32 || headerLen < MIN_HEADER_LEN) {
        this.framed = false;
        return;
      }
      // header_len >= 26 > HEAD_BYTES, so every frame has a rest.
      this.rest = headerLen + this.head.readUInt32LE(OFFSET_PAYLOAD_LEN) - HEAD_BYTES;
    }
  }
}
