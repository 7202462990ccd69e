import { describe, expect, it } from 'vitest';
import { FrameDecoder } from '../../src/frame/frame-decoder.js';
import { ExtensionType, Flags } from '../../src/wire/constants.js';
import { encodeFrame, encodeFrameInto, encodedLength, encodeStampedFrame, type FrameStamp } from '../../src/wire/encode.js';
import {
  findSequence,
  readSequence,
  SEQUENCE_RECORD_BYTES,
  sequenceExtension,
  writeSequenceRecord,
} from '../../src/wire/sequence.js';

const ID = Buffer.from('00112233445566778899aabbccddeeff', 'hex');

describe('sequence extension', () => {
  it('writes type 5, length 24, the id and the sequence u64 LE', () => {
    const out = Buffer.alloc(SEQUENCE_RECORD_BYTES);
    expect(writeSequenceRecord(out, 0, ID, 2 ** 40 + 7)).toBe(27);
    expect(out.toString('hex')).toBe(`051800${ID.toString('hex')}0700000000010000`);
  });

  it('reads back what sequenceExtension wrote', () => {
    const record = sequenceExtension(ID, 123_456_789_012);
    const read = readSequence(record);
    expect(read?.sequence).toBe(123_456_789_012);
    expect(read?.producerId.equals(ID)).toBe(true);
  });

  it('means nothing with another length or type', () => {
    expect(readSequence({ type: ExtensionType.SEQUENCE, value: Buffer.alloc(23) })).toBeNull();
    expect(readSequence({ type: ExtensionType.ROUTING, value: Buffer.alloc(24) })).toBeNull();
    expect(findSequence([{ type: 1, value: Buffer.alloc(3) }, sequenceExtension(ID, 9)])?.sequence).toBe(9);
  });
});

describe('a stamped frame (producer ack mode)', () => {
  const frame = { sourceId: 'src', destId: 'dst', payload: Buffer.from('payload'), timestamp: 5, flags: Flags.PRIORITY, extensions: [{ type: 0x80, value: Buffer.from('x') }] };
  const stamp: FrameStamp = { flags: Flags.ACK_REQUEST, producerId: ID, sequence: 42 };

  it('is the same frame with ACK_REQUEST OR-ed in and a sequence record after its own extensions', () => {
    const stamped = encodeStampedFrame(frame, stamp);
    const explicit = encodeFrame({ ...frame, flags: Flags.PRIORITY | Flags.ACK_REQUEST, extensions: [...frame.extensions, sequenceExtension(ID, 42)] });
    expect(stamped.toString('hex')).toBe(explicit.toString('hex'));
    expect(encodedLength(frame, stamp)).toBe(encodedLength(frame) + SEQUENCE_RECORD_BYTES);
  });

  it('decodes as valid, and the decoder finds its sequence', () => {
    const out = Buffer.alloc(encodedLength(frame, stamp) + 3);
    const n = encodeFrameInto(frame, out, 3, stamp);
    const decoder = new FrameDecoder({ maxPayloadBytes: 1024, maxHeaderBytes: 4096 });
    let seen: number | null = null;
    decoder.decode(out, 3, 3 + n, { onFrame: (view) => (seen = findSequence(view.extensions())?.sequence ?? null) });
    expect(decoder.error).toBeNull();
    expect(seen).toBe(42);
  });
});
