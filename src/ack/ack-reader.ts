/**
 * Client side (producer, forward): reads what a server writes back on an ack-mode connection: ACK frames
 * (docs/protocol.md Acknowledgements), decoded by the server's own FrameDecoder.
 * One per connection; it owns the few bytes of a frame split across reads.
 *
 *   socket 'data' -> push(chunk) -> decoder -> onAck(committed, reason|null)
 *                                           -> onError(message) (not PKT, or an ACK
 *                                              payload that is no count): drop the connection
 *
 * Frames that are not ACKs are ignored (docs/protocol.md: only ACK frames flow back).
 */
import { FrameDecoder, type FrameSink } from '../frame/frame-decoder.js';
import type { PacketView } from '../frame/packet-view.js';
import { isAckFlags, isFinalFlags, parseAckPayload } from '../wire/ack.js';

export interface AckEvents {
  /** `reason` is null for a plain ACK, the FINAL reason otherwise. */
  onAck(committed: number, reason: string | null): void;
  onProtocolError(message: string): void;
}

/** An ACK's payload is 8 bytes plus a short reason; anything near this is not an ACK. */
const MAX_ACK_PAYLOAD = 1024;

export class AckReader implements FrameSink {
  private readonly decoder = new FrameDecoder({ maxPayloadBytes: MAX_ACK_PAYLOAD, maxHeaderBytes: 4096 });
  /** Bytes of an incomplete frame, kept until the rest arrives. */
  private rest: Buffer | null = null;
  private broken = false;

  constructor(private readonly events: AckEvents) {}

  push(chunk: Buffer): void {
    if (this.broken) return;
    const buf = this.rest === null ? chunk : Buffer.concat([this.rest, chunk]);
    const used = this.decoder.decode(buf, 0, buf.length, this);
    if (this.decoder.error !== null) {
      this.broken = true;
      this.events.onProtocolError(`the server sent a malformed frame (${this.decoder.error})`);
      return;
    }
    this.rest = used === buf.length ? null : Buffer.from(buf.subarray(used));
  }

  onFrame(view: PacketView): void {
    const flags = view.flags;
    if (this.broken || !isAckFlags(flags)) return;
    const start = view.frameStart + view.headerLength;
    const ack = parseAckPayload(view.buffer, start, start + view.payloadLength, isFinalFlags(flags));
    if (ack === null) {
      this.broken = true;
      this.events.onProtocolError(`the server sent an ACK whose payload is not a count (${view.payloadLength} bytes)`);
      return;
    }
    this.events.onAck(ack.committed, ack.reason);
  }
}
