/**
 * What a FrameReader needs from the layer above it: the error policy it
 * applies, and the consumer it hands frames, batch ends and errors to
 * (src/handlers/dispatch.ts in the server; collectors in tests and tools).
 */
import type { FrameErrorReason } from '../wire/reasons.js';
import type { PacketView } from './packet-view.js';

export interface ErrorPolicy {
  /** Framing lost: close the connection, or skip to the next magic. */
  readonly onFrameError: 'close' | 'resync';
  /** Checksum mismatch: drop that frame and go on, or close. */
  readonly onChecksumError: 'drop' | 'close';
}

export interface FrameConsumer {
  onFrame(packet: PacketView): void;
  /** After each batch of frames from one read. */
  onBatchEnd(): void;
  /** A frame failed `reason` at stream `offset`; counted and logged by the consumer. */
  onFrameError(reason: FrameErrorReason, offset: number): void;
  /** A held promise rejected (the handler at `index`). */
  onHoldError(index: number, error: unknown): void;
}
