/**
 * Reading the jetstream handler's messages back: a message's data is whole
 * PKT frames, byte-exact, so the server's own decoder splits it into packet
 * views (the same Packet a handler gets: ids, payload, extensions, copy()).
 * The views point into `data`; they stay valid as long as `data` does.
 */
import { FrameDecoder, type DecoderLimits, type FrameSink } from '../frame/frame-decoder.js';
import type { PacketView } from '../frame/packet-view.js';
import type { Packet } from '../handlers/types.js';
import { ErrorCodes, PktError } from '../errors.js';
import { MAX_HEADER_LEN } from '../wire/constants.js';

/** Frames in a message may be as large as the format allows; the message itself bounds them. */
const NO_LIMITS: DecoderLimits = { maxPayloadBytes: 0xffff_ffff, maxHeaderBytes: MAX_HEADER_LEN };

class Collect implements FrameSink {
  readonly packets: Packet[] = [];
  constructor(private readonly decoder: FrameDecoder) {}
  onFrame(packet: PacketView): void {
    this.packets.push(packet);
    this.decoder.detachView(); // the next frame gets its own view
  }
}

/**
 * The packets in a jetstream message's data, in order. Throws a PktError
 * (`PKT_ERR_FRAME`) naming the docs/protocol.md reason and byte offset if the data is
 * not a sequence of whole valid frames.
 */
export function splitFrames(data: Uint8Array, limits: DecoderLimits = NO_LIMITS): Packet[] {
  const buf = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const decoder = new FrameDecoder(limits);
  const sink = new Collect(decoder);
  const used = decoder.decode(buf, 0, buf.length, sink);
  if (decoder.error !== null) {
    throw new PktError(ErrorCodes.FRAME, `message data: ${decoder.error} at byte ${decoder.errorOffset} (not a jetstream handler message?)`);
  }
  if (used !== buf.length) {
    throw new PktError(ErrorCodes.FRAME, `message data: truncated at byte ${used} (a torn frame: ${buf.length - used} bytes left over)`);
  }
  return sink.packets;
}
