import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FrameDecoder } from '../../src/frame/frame-decoder.js';
import type { PacketView } from '../../src/frame/packet-view.js';
import {
  ACK_FRAME_BYTES,
  ackFrameLength,
  encodeAck,
  isAckFlags,
  isFinalFlags,
  parseAckPayload,
} from '../../src/wire/ack.js';
import { Flags } from '../../src/wire/constants.js';
import { FRAME_ERROR_REASONS } from '../../src/wire/reasons.js';

/** WIRE.md's ACK reference vector: 3 committed, timestamp 1700000000000000. */
const ACK_REFERENCE = Buffer.from(
  '504b5400 01201a00 08000000 8ad8adeb 00401e18 240a0600 00000300 00000000 0000'.replaceAll(' ', ''),
  'hex',
);
const TS = 1_700_000_000_000_000;

/** Decodes `bytes` with the server's own decoder; returns the frames' flags and payload copies. */
function decodeAll(bytes: Buffer): { flags: number; payload: Buffer; headerLength: number }[] {
  const out: { flags: number; payload: Buffer; headerLength: number }[] = [];
  const decoder = new FrameDecoder({ maxPayloadBytes: 1024, maxHeaderBytes: 4096 });
  const consumed = decoder.decode(bytes, 0, bytes.length, {
    onFrame: (view: PacketView) => out.push({ flags: view.flags, payload: Buffer.from(view.payload), headerLength: view.headerLength }),
  });
  expect(decoder.error).toBeNull();
  expect(consumed).toBe(bytes.length);
  return out;
}

describe('encodeAck', () => {
  it('writes the WIRE.md ACK reference vector byte for byte', () => {
    const out = Buffer.alloc(ACK_FRAME_BYTES);
    expect(encodeAck(3, null, TS, out)).toBe(ACK_FRAME_BYTES);
    expect(out.toString('hex')).toBe(ACK_REFERENCE.toString('hex'));
  });

  it('writes at an offset without touching the bytes around the frame', () => {
    const out = Buffer.alloc(ACK_FRAME_BYTES + 10, 0xee);
    encodeAck(3, null, TS, out, 5);
    expect(out.subarray(5, 5 + ACK_FRAME_BYTES).equals(ACK_REFERENCE)).toBe(true);
    expect([...out.subarray(0, 5), ...out.subarray(5 + ACK_FRAME_BYTES)].every((b) => b === 0xee)).toBe(true);
  });

  it('writes ACK + FINAL with each reason as a frame the decoder accepts', () => {
    for (const reason of [...FRAME_ERROR_REASONS, 'draining', 'idle_timeout', 'handler_error', 'server_error']) {
      const out = Buffer.alloc(ackFrameLength(reason));
      expect(encodeAck(41, reason, TS, out)).toBe(out.length);
      const [frame] = decodeAll(out);
      expect(frame.flags).toBe(Flags.ACK | Flags.FINAL);
      expect(frame.headerLength).toBe(26);
      expect(isFinalFlags(frame.flags)).toBe(true);
      expect(parseAckPayload(frame.payload, 0, frame.payload.length, true)).toEqual({ committed: 41, reason });
    }
  });

  it('round-trips every count up to 2^53 - 1 without BigInt', () => {
    fc.assert(
      fc.property(fc.maxSafeNat(), fc.maxSafeNat(), (committed, ts) => {
        const out = Buffer.alloc(ACK_FRAME_BYTES);
        encodeAck(committed, null, ts, out);
        expect(out.readBigUInt64LE(16)).toBe(BigInt(ts));
        expect(out.readBigUInt64LE(26)).toBe(BigInt(committed));
        const [frame] = decodeAll(out);
        expect(isAckFlags(frame.flags) && !isFinalFlags(frame.flags)).toBe(true);
        expect(parseAckPayload(frame.payload, 0, 8, false)).toEqual({ committed, reason: null });
      }),
      { numRuns: 200 },
    );
  });
});

describe('parseAckPayload', () => {
  it('reads the reference vector count', () => {
    expect(parseAckPayload(ACK_REFERENCE, 26, ACK_REFERENCE.length, false)).toEqual({ committed: 3, reason: null });
  });

  it('rejects a payload shorter than the count', () => {
    expect(parseAckPayload(Buffer.alloc(7), 0, 7, false)).toBeNull();
  });

  it('rejects a count above 2^53 - 1', () => {
    const payload = Buffer.alloc(8);
    payload.writeBigUInt64LE(2n ** 53n);
    expect(parseAckPayload(payload, 0, 8, false)).toBeNull();
    payload.writeBigUInt64LE(2n ** 53n - 1n);
    expect(parseAckPayload(payload, 0, 8, false)).toEqual({ committed: 2 ** 53 - 1, reason: null });
  });

  it('rejects bytes after the count of a plain ACK, and reads them as the reason with FINAL', () => {
    const payload = Buffer.concat([Buffer.alloc(8), Buffer.from('draining')]);
    expect(parseAckPayload(payload, 0, payload.length, false)).toBeNull();
    expect(parseAckPayload(payload, 0, payload.length, true)).toEqual({ committed: 0, reason: 'draining' });
  });

  it('reads an empty reason with FINAL as the empty string', () => {
    expect(parseAckPayload(Buffer.alloc(8), 0, 8, true)).toEqual({ committed: 0, reason: '' });
  });
});

describe('ack flags', () => {
  it('tells ACK, ACK + FINAL and FINAL alone apart', () => {
    expect(isAckFlags(0x20)).toBe(true);
    expect(isAckFlags(0x10)).toBe(false);
    expect(isFinalFlags(0x60)).toBe(true);
    expect(isFinalFlags(0x40)).toBe(false);
    expect(isFinalFlags(0x20)).toBe(false);
  });
});
