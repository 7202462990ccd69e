/**
 * docs/test-vectors.json against the project's encoder and decoder, and
 * docs/protocol.md against the vectors, so neither the doc nor the file can
 * drift from the code. The ACK frames are also rebuilt by hand
 * (test/helpers/ack-frames.ts: Buffer writes and crc-32), independently of src/.
 */
import fs from 'node:fs';
import CRC32 from 'crc-32';
import { describe, expect, it } from 'vitest';
import { FrameDecoder, type DecoderLimits, type FrameSink } from '../../src/frame/frame-decoder.js';
import type { PacketView } from '../../src/frame/packet-view.js';
import type { OwnedPacket } from '../../src/handlers/types.js';
import { encodeFrame } from '../../src/wire/encode.js';
import { FRAME_ERROR_REASONS } from '../../src/wire/reasons.js';
import { ackFrame } from '../helpers/ack-frames.js';
import { CLOSE, feedChunksSync, makeReader } from '../helpers/feed.js';

interface Vectors {
  limits: DecoderLimits;
  valid: Array<{
    name: string;
    fields: {
      version: number;
      flags: number;
      timestamp: string;
      sourceId: string;
      destId: string;
      extensions: Array<{ type: number; valueHex: string }>;
      payloadHex: string;
    };
    headerLen: number;
    checksum: string;
    hex: string;
  }>;
  sequence: { vector: string; producerIdHex: string; sequence: string; valueHex: string };
  acks: Array<{ name: string; flags: number; timestamp: string; committed: number; reason: string | null; hex: string }>;
  invalid: Array<{ name: string; reason: string; hex: string }>;
}

const docs = new URL('../../docs/', import.meta.url);
const vectors = JSON.parse(fs.readFileSync(new URL('test-vectors.json', docs), 'utf8')) as Vectors;
const protocolDoc = fs.readFileSync(new URL('protocol.md', docs), 'utf8');
const bytes = (hex: string) => Buffer.from(hex, 'hex');
/** The doc's hex dumps: 16 bytes a line, separated by spaces. */
const dumped = (hex: string) =>
  (bytes(hex).toString('hex').match(/.{2}/g) ?? []).reduce((s, b, i) => s + (i === 0 ? '' : i % 16 === 0 ? '\n' : ' ') + b, '');

class Sink implements FrameSink {
  readonly packets: OwnedPacket[] = [];
  onFrame(packet: PacketView): void {
    this.packets.push(packet.copy());
  }
}

/** Decodes one whole frame with the server's decoder under the vectors' limits. */
function decodeOne(frame: Buffer): OwnedPacket {
  const decoder = new FrameDecoder(vectors.limits);
  const sink = new Sink();
  expect(decoder.decode(frame, 0, frame.length, sink)).toBe(frame.length);
  expect(decoder.error).toBeNull();
  expect(sink.packets).toHaveLength(1);
  return sink.packets[0];
}

describe('docs/test-vectors.json', () => {
  describe.each(vectors.valid)('valid vector $name', (v) => {
    const frame = bytes(v.hex);
    const f = v.fields;
    const input = {
      sourceId: f.sourceId,
      destId: f.destId,
      payload: bytes(f.payloadHex),
      timestamp: BigInt(f.timestamp),
      flags: f.flags,
      extensions: f.extensions.map((e) => ({ type: e.type, value: bytes(e.valueHex) })),
    };

    it('is what the encoder writes for its fields', () => {
      expect(encodeFrame(input).toString('hex')).toBe(v.hex);
    });

    it('decodes to its fields, header_len and checksum', () => {
      const p = decodeOne(frame);
      expect(p.version).toBe(f.version);
      expect(p.flags).toBe(f.flags);
      expect(p.timestampBigInt).toBe(BigInt(f.timestamp));
      expect(p.sourceId).toBe(f.sourceId);
      expect(p.destId).toBe(f.destId);
      expect(p.payload.toString('hex')).toBe(f.payloadHex);
      expect(p.extensions.map((e) => ({ type: e.type, valueHex: Buffer.from(e.value).toString('hex') }))).toEqual(f.extensions);
      expect(frame.readUInt16LE(6)).toBe(v.headerLen);
      expect(`0x${p.checksum.toString(16).padStart(8, '0')}`).toBe(v.checksum);
    });

    it('has a checksum over the payload bytes only', () => {
      const payload = bytes(f.payloadHex);
      expect(frame.readUInt32LE(12)).toBe(CRC32.buf(payload) >>> 0);
      expect(frame.subarray(v.headerLen).equals(payload)).toBe(true);
    });
  });

  it('splits the sequence extension into a 16-byte producer id and a u64 sequence', () => {
    const seq = vectors.sequence;
    const frame = vectors.valid.find((v) => v.name === seq.vector);
    const ext = decodeOne(bytes(frame!.hex)).extensions.find((e) => e.type === 5);
    const value = Buffer.from(ext!.value);
    expect(value.toString('hex')).toBe(seq.valueHex);
    expect(value).toHaveLength(24);
    expect(value.subarray(0, 16).toString('hex')).toBe(seq.producerIdHex);
    expect(value.readBigUInt64LE(16)).toBe(BigInt(seq.sequence));
  });

  describe.each(vectors.acks)('ACK vector $name', (a) => {
    const frame = bytes(a.hex);

    it('equals the frame built by hand from the ACK table', () => {
      const byHand = ackFrame(a.committed, { timestamp: BigInt(a.timestamp), ...(a.reason !== null && { reason: a.reason }) });
      expect(byHand.toString('hex')).toBe(a.hex);
      expect(byHand[5]).toBe(a.flags);
    });

    it('is what the frame encoder writes with flags and empty ids (header_len 26)', () => {
      const payload = Buffer.concat([Buffer.alloc(8), Buffer.from(a.reason ?? '', 'utf8')]);
      payload.writeBigUInt64LE(BigInt(a.committed));
      const encoded = encodeFrame({ sourceId: '', destId: '', flags: a.flags, timestamp: BigInt(a.timestamp), payload });
      expect(encoded.readUInt16LE(6)).toBe(26);
      expect(encoded.toString('hex')).toBe(a.hex);
    });

    it('is a valid frame for the decoder, its payload the count and the FINAL reason', () => {
      const p = decodeOne(frame);
      expect(p.flags & 0x20).toBe(0x20);
      expect((p.flags & 0x40) !== 0).toBe(a.reason !== null);
      expect(p.sourceId + p.destId).toBe('');
      expect(p.payload.readBigUInt64LE(0)).toBe(BigInt(a.committed));
      expect(p.payload.subarray(8).toString('utf8')).toBe(a.reason ?? '');
    });
  });

  it('has one invalid vector for each reason, in validation order', () => {
    expect(vectors.invalid.map((v) => v.reason)).toEqual([...FRAME_ERROR_REASONS]);
  });

  describe.each(vectors.invalid)('invalid vector $name', (v) => {
    /** Feeds the vector (whole, or byte by byte), then ends the stream; returns what the reader reported. */
    function run(chunks: Buffer[]) {
      const { reader, collector } = makeReader(4096, { policy: CLOSE, limits: vectors.limits });
      feedChunksSync(reader, chunks, 'write');
      reader.end();
      return collector;
    }

    it(`fails as ${v.reason} at offset 0, delivering nothing`, () => {
      const whole = run([bytes(v.hex)]);
      expect(whole.errors).toEqual([{ reason: v.reason, offset: 0 }]);
      expect(whole.frames).toBe(0);
      const oneByOne = run([...bytes(v.hex)].map((b) => Buffer.from([b])));
      expect(oneByOne.errors).toEqual([{ reason: v.reason, offset: 0 }]);
    });
  });

  it('the reader reports nothing for the valid vectors fed the same way (the invalid tests could fail)', () => {
    const { reader, collector } = makeReader(4096, { policy: CLOSE, limits: vectors.limits });
    feedChunksSync(reader, vectors.valid.map((v) => bytes(v.hex)), 'write');
    reader.end();
    expect(collector.errors).toEqual([]);
    expect(collector.frames).toBe(vectors.valid.length);
  });
});

describe('docs/protocol.md', () => {
  it('shows the reference frame and the reference ACK as in the vectors file', () => {
    expect(protocolDoc).toContain(dumped(vectors.valid.find((v) => v.name === 'reference')!.hex));
    expect(protocolDoc).toContain(dumped(vectors.acks.find((a) => a.name === 'ack')!.hex));
  });

  it('names every validation reason and every FINAL reason', () => {
    for (const reason of [...FRAME_ERROR_REASONS, 'draining', 'idle_timeout', 'handler_error', 'server_error']) {
      expect(protocolDoc).toContain(`\`${reason}\``);
    }
  });

  it('its Python frame() example asserts the reference vector', () => {
    expect(protocolDoc).toContain(vectors.valid.find((v) => v.name === 'reference')!.hex);
  });
});
