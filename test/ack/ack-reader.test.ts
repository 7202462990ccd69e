import { describe, expect, it } from 'vitest';
import { AckReader } from '../../src/ack/ack-reader.js';
import { ackFrameLength, encodeAck } from '../../src/wire/ack.js';
import { encodeFrame } from '../../src/wire/encode.js';

function ack(count: number, reason: string | null = null): Buffer {
  const out = Buffer.alloc(ackFrameLength(reason));
  encodeAck(count, reason, 1, out);
  return out;
}

function reader(): { r: AckReader; acks: [number, string | null][]; errors: string[] } {
  const acks: [number, string | null][] = [];
  const errors: string[] = [];
  const r = new AckReader({ onAck: (c, reason) => acks.push([c, reason]), onProtocolError: (m) => errors.push(m) });
  return { r, acks, errors };
}

describe('AckReader', () => {
  const stream = Buffer.concat([
    ack(1),
    encodeFrame({ sourceId: 'x', destId: 'y', payload: Buffer.from('not an ack') }), // ignored
    ack(5),
    ack(9, 'idle_timeout'),
  ]);

  it('reads ACKs and ACK + FINAL, ignoring other frames, whatever two pieces the stream arrives in', () => {
    for (let cut = 0; cut <= stream.length; cut++) {
      const { r, acks, errors } = reader();
      r.push(stream.subarray(0, cut));
      r.push(stream.subarray(cut));
      expect(acks).toEqual([[1, null], [5, null], [9, 'idle_timeout']]);
      expect(errors).toEqual([]);
    }
  });

  it('reads the stream one byte at a time', () => {
    const { r, acks } = reader();
    for (let i = 0; i < stream.length; i++) r.push(stream.subarray(i, i + 1));
    expect(acks.map(([c]) => c)).toEqual([1, 5, 9]);
  });

  it('reports bytes that are not PKT once, and then ignores the connection', () => {
    const { r, acks, errors } = reader();
    r.push(Buffer.from('HTTP/1.1 400 Bad Request\r\n\r\n'));
    r.push(ack(3));
    expect(errors).toEqual(['the server sent a malformed frame (bad_magic)']);
    expect(acks).toEqual([]);
  });

  it('reports an ACK whose payload is no count', () => {
    const { r, errors } = reader();
    r.push(encodeFrame({ sourceId: '', destId: '', payload: Buffer.alloc(3), flags: 0x20 }));
    expect(errors[0]).toMatch(/not a count \(3 bytes\)/);
  });
});
