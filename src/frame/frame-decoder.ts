/**
 * The PKT v1 decoder: an incremental state machine over contiguous bytes.
 * It never touches I/O and never copies: it is handed buf[start, end),
 * emits every complete valid frame to the sink as a reused PacketView, and
 * answers how far it got. The reader owns buffers, reads and policy.
 *
 *   state          needs                         then
 *   HEAD           24 bytes (fixed fields)       lengths checked -> HEADER
 *                  (fewer: check what is there, so a bad magic or a 4 GiB
 *                   payload_len is rejected before waiting for more)
 *   HEADER         header_len bytes              ids, UTF-8, TLV checked -> BODY
 *   BODY           header_len + payload_len      CRC checked -> frame out -> HEAD
 *
 * Lengths and header results are kept across calls, relative to the frame
 * start, so a frame that arrives in many reads (or moves in the ring) is
 * parsed once. Checks follow docs/protocol.md's order; on the first failure the
 * decoder stops with `error` set and the bad frame's start in `errorOffset`.
 */
import { crc32Int32 } from '../wire/crc32.js';
import {
  FIXED_HEADER_BYTES,
  MAGIC,
  MAGIC_U32,
  MIN_HEADER_LEN,
  OFFSET_CHECKSUM,
  OFFSET_HEADER_LEN,
  OFFSET_IDS,
  OFFSET_PAYLOAD_LEN,
  OFFSET_VERSION,
  VERSION,
} from '../wire/constants.js';
import type { FrameErrorReason } from '../wire/reasons.js';
import { isValidUtf8 } from '../wire/utf8.js';
import { findBadExtension } from './extensions.js';
import { IdCache } from './id-cache.js';
import { PacketView } from './packet-view.js';

const EMPTY_BUFFER = Buffer.alloc(0);

/** Little-endian int32 at p from bytes: Node 20's Buffer#readUInt32LE calls a hideStackFrames-wrapped validator. */
function i32(buf: Buffer, p: number): number {
  return buf[p] | (buf[p + 1] << 8) | (buf[p + 2] << 16) | (buf[p + 3] << 24);
}

export interface DecoderLimits {
  /** Largest accepted payload_len. */
  readonly maxPayloadBytes: number;
  /** Largest accepted header_len (at least 26). */
  readonly maxHeaderBytes: number;
}

export interface FrameSink {
  /** A valid frame. The view is the decoder's; see PacketView for its lifetime. */
  onFrame(packet: PacketView): void;
}

export class FrameDecoder {
  readonly limits: DecoderLimits;
  /** Stream offset of the first byte not yet decoded (the current frame's start). */
  offset = 0;
  /** Bytes, from the current frame's start, needed before decoding can go on. */
  need = FIXED_HEADER_BYTES;
  /** Why decoding stopped, or null. */
  error: FrameErrorReason | null = null;
  errorOffset = -1;
  /** The view the next frame is delivered in. */
  view: PacketView;

  // Current frame, relative to its start; frameLength 0 means HEAD.
  headerLength = 0;
  payloadLength = 0;
  frameLength = 0;
  private headerChecked = false;
  /**
   * After a resync: looking for the next magic. Bytes that turn out not to
   * be one are skipped silently (they are not frame starts); the error was
   * counted once, for the frame start that lost framing.
   */
  private scanning = false;
  /** Set by idEnd(): the id just found differs from the cached one. */
  private idIsNew = false;
  private sourceEnd = 0;
  private destEnd = 0;
  private readonly sourceCache = new IdCache();
  private readonly destCache = new IdCache();

  constructor(limits: DecoderLimits) {
    this.limits = limits;
    this.view = new PacketView(this.sourceCache, this.destCache);
  }

  /** Drop the reused view's reference to a buffer that goes back to a pool. */
  forgetBuffer(): void {
    this.view.buffer = EMPTY_BUFFER;
  }

  /** Hand the current view over to a handler for good; later frames use a new one. */
  detachView(): void {
    this.view = new PacketView(this.sourceCache, this.destCache);
  }

  /**
   * Decodes buf[start, end), delivering each complete valid frame to `sink`.
   * Returns the bytes consumed: whole frames up to the first incomplete or
   * bad one. Check `error` afterwards; while it is set, decode() does nothing.
   */
  decode(buf: Buffer, start: number, end: number, sink: FrameSink): number {
    if (this.error !== null) return 0;
    let p = start;
    for (;;) {
      const avail = end - p;
      if (this.frameLength === 0) {
        const reason =
          avail >= FIXED_HEADER_BYTES ? this.checkHead(buf, p) : avail > 0 ? this.checkPartialHead(buf, p, avail) : null;
        if (reason === 'bad_magic' && this.scanning) {
          p += this.skipToMagic(buf, p, end);
          continue;
        }
        if (reason !== null) {
          this.fail(reason);
          break;
        }
        if (avail < FIXED_HEADER_BYTES) {
          this.need = FIXED_HEADER_BYTES;
          break;
        }
      }
      if (!this.headerChecked) {
        if (avail < this.headerLength) {
          this.need = this.headerLength;
          break;
        }
        const reason = this.checkHeader(buf, p);
        if (reason !== null) {
          this.fail(reason);
          break;
        }
        this.headerChecked = true;
      }
      const frameLength = this.frameLength;
      if (avail < frameLength) {
        this.need = frameLength;
        break;
      }
      const payloadStart = p + this.headerLength;
      if (crc32Int32(buf, payloadStart, payloadStart + this.payloadLength) !== i32(buf, p + OFFSET_CHECKSUM)) {
        this.fail('crc_mismatch');
        break;
      }
      const view = this.view;
      view.buffer = buf;
      view.frameStart = p;
      view.frameLength = frameLength;
      view.headerLength = this.headerLength;
      view.payloadLength = this.payloadLength;
      view.offset = this.offset;
      view.sourceStart = p + OFFSET_IDS;
      view.sourceEnd = p + this.sourceEnd;
      view.destStart = p + this.sourceEnd + 1;
      view.destEnd = p + this.destEnd;
      view.sourceGeneration = this.sourceCache.generation;
      view.destGeneration = this.destCache.generation;
      p += frameLength;
      this.offset += frameLength;
      this.frameLength = 0;
      this.headerChecked = false;
      this.scanning = false;
      sink.onFrame(view);
    }
    return p - start;
  }

  /**
   * After a `crc_mismatch`: the lengths were sane, so the frame can be
   * skipped whole. Returns its length; the caller consumes that many bytes.
   */
  skipFrame(): number {
    const n = this.frameLength;
    this.offset += n;
    this.clear();
    this.scanning = false; // that was a frame start: the next one counts its own error
    return n;
  }

  /**
   * After any error: how many bytes of buf[start, end) (which begins at the
   * bad frame) to skip so that the next candidate magic, or a prefix of it
   * at the very end, comes first. At least 1. Until a frame decodes again,
   * candidates that are no magic after all are skipped without an error.
   */
  resync(buf: Buffer, start: number, end: number): number {
    this.clear();
    this.scanning = true;
    return this.skipToMagic(buf, start, end);
  }

  /** Skips from `start` (at least one byte) to the next magic, or a prefix of one at the end. */
  private skipToMagic(buf: Buffer, start: number, end: number): number {
    let i = start + 1;
    for (; i < end; i++) {
      if (buf[i] !== MAGIC[0]) continue;
      const avail = Math.min(end - i, 4);
      let k = 1;
      while (k < avail && buf[i + k] === MAGIC[k]) k++;
      if (k === avail) break;
    }
    const skip = i - start;
    this.offset += skip;
    return skip;
  }

  private clear(): void {
    this.error = null;
    this.errorOffset = -1;
    this.frameLength = 0;
    this.headerChecked = false;
    this.need = FIXED_HEADER_BYTES;
  }

  private fail(reason: FrameErrorReason): void {
    this.error = reason;
    this.errorOffset = this.offset;
  }

  /** The fixed fields: magic, version, header_len, payload_len (in docs/protocol.md order). */
  private checkHead(buf: Buffer, p: number): FrameErrorReason | null {
    if (i32(buf, p) !== MAGIC_U32) return 'bad_magic';
    if (buf[p + OFFSET_VERSION] !== VERSION) return 'unsupported_version';
    const headerLength = buf[p + OFFSET_HEADER_LEN] | (buf[p + OFFSET_HEADER_LEN + 1] << 8);
    if (headerLength < MIN_HEADER_LEN || headerLength > this.limits.maxHeaderBytes) return 'bad_header_len';
    const payloadLength = i32(buf, p + OFFSET_PAYLOAD_LEN) >>> 0;
    if (payloadLength > this.limits.maxPayloadBytes) return 'frame_too_large';
    this.headerLength = headerLength;
    this.payloadLength = payloadLength;
    this.frameLength = headerLength + payloadLength;
    return null;
  }

  /** Fewer than 24 bytes: judge the fields that are complete already. */
  private checkPartialHead(buf: Buffer, p: number, avail: number): FrameErrorReason | null {
    for (let k = 0; k < 4 && k < avail; k++) if (buf[p + k] !== MAGIC[k]) return 'bad_magic';
    if (avail > OFFSET_VERSION && buf[p + OFFSET_VERSION] !== VERSION) return 'unsupported_version';
    if (avail >= OFFSET_HEADER_LEN + 2) {
      const headerLength = buf.readUInt16LE(p + OFFSET_HEADER_LEN);
      if (headerLength < MIN_HEADER_LEN || headerLength > this.limits.maxHeaderBytes) return 'bad_header_len';
    }
    if (avail >= OFFSET_PAYLOAD_LEN + 4 && buf.readUInt32LE(p + OFFSET_PAYLOAD_LEN) > this.limits.maxPayloadBytes) {
      return 'frame_too_large';
    }
    return null;
  }

  /**
   * The terminator of the id at `start`, or -1 if it has none before
   * `headerEnd`. Producers repeat their ids: a cache hit settles termination
   * (and UTF-8) in one pass. Sets `idIsNew` when the id is not the cached one.
   */
  private idEnd(cache: IdCache, buf: Buffer, start: number, headerEnd: number): number {
    const hit = cache.matchAt(buf, start, headerEnd);
    this.idIsNew = hit < 0;
    if (hit >= 0) return hit;
    let end = start;
    while (end < headerEnd && buf[end] !== 0) end++;
    return end === headerEnd ? -1 : end;
  }

  /** Ids terminated, then valid UTF-8, then TLV records fit (docs/protocol.md order). */
  private checkHeader(buf: Buffer, p: number): FrameErrorReason | null {
    const headerEnd = p + this.headerLength;
    const sourceStart = p + OFFSET_IDS;
    const sourceEnd = this.idEnd(this.sourceCache, buf, sourceStart, headerEnd);
    if (sourceEnd < 0) return 'unterminated_string';
    const sourceIsNew = this.idIsNew;
    const destStart = sourceEnd + 1;
    const destEnd = this.idEnd(this.destCache, buf, destStart, headerEnd);
    if (destEnd < 0) return 'unterminated_string';
    const destIsNew = this.idIsNew;
    if (sourceIsNew) {
      if (!isValidUtf8(buf, sourceStart, sourceEnd)) return 'invalid_utf8';
      this.sourceCache.store(buf, sourceStart, sourceEnd);
    }
    if (destIsNew) {
      if (!isValidUtf8(buf, destStart, destEnd)) return 'invalid_utf8';
      this.destCache.store(buf, destStart, destEnd);
    }
    if (destEnd + 1 < headerEnd && findBadExtension(buf, destEnd + 1, headerEnd) !== -1) return 'bad_extension';
    this.sourceEnd = sourceEnd - p;
    this.destEnd = destEnd - p;
    return null;
  }

}
