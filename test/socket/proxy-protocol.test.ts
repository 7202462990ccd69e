import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import {
  ProxyHeaderParser,
  ProxyStatus,
  V1_MAX_BYTES,
  V2_DEFAULT_MAX_BYTES,
  type ProxyErrorReason,
  type ProxyMode,
} from '../../src/socket/proxy-protocol.js';
import { encodeFrame } from '../../src/wire/encode.js';
import { encodeV1, encodeV2, ipv4Bytes, ipv6Bytes, ipv6Full, V2_SIGNATURE } from '../helpers/proxy-headers.js';

const FRAME = encodeFrame({ sourceId: 'src', destId: 'dst', payload: Buffer.from('payload') });

/** Parses `bytes` fed whole; returns the parser. */
function parseWhole(bytes: Buffer, mode: ProxyMode = 'any', maxBytes?: number): ProxyHeaderParser {
  const p = new ProxyHeaderParser(mode, maxBytes);
  p.parse(bytes, 0, bytes.length);
  return p;
}

/** Feeds growing prefixes of `bytes` (cut where `cuts` say, inside a larger buffer at `offset`), as reads would. */
function parseCut(bytes: Buffer, cuts: number[], mode: ProxyMode = 'any', offset = 0): ProxyHeaderParser {
  const p = new ProxyHeaderParser(mode);
  const buf = Buffer.concat([Buffer.alloc(offset, 0xee), bytes]);
  for (const cut of [...cuts.filter((c) => c > 0 && c < bytes.length).sort((a, b) => a - b), bytes.length]) {
    if (p.parse(buf, offset, offset + cut) !== ProxyStatus.MORE) break;
    expect(p.need).toBeGreaterThan(cut);
  }
  return p;
}

function result(p: ProxyHeaderParser) {
  const { status, error, headerLength, version, kind, family, sourceAddress, sourcePort, destinationAddress, destinationPort } = p;
  return { status, error, headerLength, version, kind, family, sourceAddress, sourcePort, destinationAddress, destinationPort };
}

function errorOf(bytes: Buffer, mode: ProxyMode = 'any', maxBytes?: number): ProxyErrorReason | null {
  const p = parseWhole(bytes, mode, maxBytes);
  expect(p.status).toBe(ProxyStatus.ERROR);
  return p.error;
}

const port = fc.integer({ min: 0, max: 65535 });
const bytes16 = fc.uint8Array({ minLength: 16, maxLength: 16 });

/** A valid header of any kind, with what the parser must answer. */
const anyHeader = fc.oneof(
  fc.record({ src: fc.ipV4(), dst: fc.ipV4(), sp: port, dp: port }).map(({ src, dst, sp, dp }) => ({
    bytes: encodeV1({ protocol: 'TCP4', source: src, destination: dst, sourcePort: sp, destinationPort: dp }),
    expect: { version: 1, kind: 'proxy', family: 'IPv4', src: ipv4Bytes(src), dst: ipv4Bytes(dst), sp, dp },
  })),
  fc.record({ src: bytes16, dst: bytes16, sp: port, dp: port, upper: fc.boolean() }).map(({ src, dst, sp, dp, upper }) => ({
    bytes: encodeV1({ protocol: 'TCP6', source: ipv6Full(src, upper), destination: ipv6Full(dst), sourcePort: sp, destinationPort: dp }),
    expect: { version: 1, kind: 'proxy', family: 'IPv6', src: Buffer.from(src), dst: Buffer.from(dst), sp, dp },
  })),
  fc.record({ src: fc.ipV6(), dst: fc.ipV6(), sp: port, dp: port }).map(({ src, dst, sp, dp }) => ({
    bytes: encodeV1({ protocol: 'TCP6', source: src, destination: dst, sourcePort: sp, destinationPort: dp }),
    expect: { version: 1, kind: 'proxy', family: 'IPv6', src: ipv6Bytes(src), dst: ipv6Bytes(dst), sp, dp },
  })),
  fc.constant({ bytes: encodeV1({ protocol: 'UNKNOWN' }), expect: { version: 1, kind: 'unknown', family: null } }),
  fc.record({ src: fc.ipV4(), dst: fc.ipV4(), sp: port, dp: port, tlvs: fc.uint8Array({ maxLength: 300 }) }).map(({ src, dst, sp, dp, tlvs }) => ({
    bytes: encodeV2({ command: 1, family: 1, source: ipv4Bytes(src), destination: ipv4Bytes(dst), sourcePort: sp, destinationPort: dp, tlvs }),
    expect: { version: 2, kind: 'proxy', family: 'IPv4', src: ipv4Bytes(src), dst: ipv4Bytes(dst), sp, dp },
  })),
  fc.record({ src: bytes16, dst: bytes16, sp: port, dp: port, tlvs: fc.uint8Array({ maxLength: 300 }) }).map(({ src, dst, sp, dp, tlvs }) => ({
    bytes: encodeV2({ command: 1, family: 2, source: src, destination: dst, sourcePort: sp, destinationPort: dp, tlvs }),
    expect: { version: 2, kind: 'proxy', family: 'IPv6', src: Buffer.from(src), dst: Buffer.from(dst), sp, dp },
  })),
  fc.record({ family: fc.integer({ min: 0, max: 15 }), transport: fc.integer({ min: 0, max: 15 }), body: fc.uint8Array({ maxLength: 64 }) }).map(
    ({ family, transport, body }) => ({
      bytes: encodeV2({ command: 0, family, transport, tlvs: body }),
      expect: { version: 2, kind: 'local', family: null },
    }),
  ),
  fc.uint8Array({ maxLength: 64 }).map((body) => ({
    bytes: encodeV2({ command: 1, family: 0, transport: 0, tlvs: body }),
    expect: { version: 2, kind: 'unknown', family: null },
  })),
);

type Expected = { version: number; kind: string; family: string | null; src?: Buffer; dst?: Buffer; sp?: number; dp?: number };

function expectHeader(p: ProxyHeaderParser, header: Buffer, e: Expected): void {
  expect(p.status, `error ${p.error}`).toBe(ProxyStatus.DONE);
  expect(p.headerLength).toBe(header.length);
  expect(p.version).toBe(e.version);
  expect(p.kind).toBe(e.kind);
  expect(p.family).toBe(e.family);
  if (e.src === undefined) return;
  const toBytes = e.family === 'IPv4' ? ipv4Bytes : ipv6Bytes;
  expect(toBytes(p.sourceAddress)).toEqual(e.src);
  expect(toBytes(p.destinationAddress)).toEqual(e.dst);
  expect([p.sourcePort, p.destinationPort]).toEqual([e.sp, e.dp]);
}

describe('ProxyHeaderParser: valid headers', () => {
  it('round-trips generated v1 and v2 headers, leaving the frame bytes after them untouched', () => {
    fc.assert(
      fc.property(anyHeader, fc.uint8Array({ maxLength: 64 }), (h, tail) => {
        const stream = Buffer.concat([h.bytes, FRAME, tail]);
        const before = Buffer.from(stream);
        const p = parseWhole(stream);
        expectHeader(p, h.bytes, h.expect as Expected);
        expect(stream).toEqual(before);
        expect(stream.subarray(p.headerLength, p.headerLength + FRAME.length)).toEqual(FRAME);
        // The version's own mode agrees with 'any'.
        expect(result(parseWhole(stream, h.expect.version === 1 ? 'v1' : 'v2'))).toEqual(result(p));
      }),
      { numRuns: 400 },
    );
  });

  it('answers the same whatever the reads the header arrives in, at any buffer offset', () => {
    fc.assert(
      fc.property(anyHeader, fc.array(fc.integer({ min: 1, max: 400 }), { maxLength: 12 }), fc.nat(32), (h, cuts, offset) => {
        const stream = Buffer.concat([h.bytes, FRAME]);
        expect(result(parseCut(stream, cuts, 'any', offset))).toEqual(result(parseWhole(stream)));
      }),
      { numRuns: 400 },
    );
  });

  it.each([
    ['v1 TCP6, longest', encodeV1({ protocol: 'TCP6', source: 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', destination: 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe', sourcePort: 65535, destinationPort: 65535 })],
    ['v1 TCP4', encodeV1({ protocol: 'TCP4', source: '192.168.0.1', destination: '192.168.0.11', sourcePort: 56324, destinationPort: 443 })],
    ['v2 IPv6 with TLVs', encodeV2({ command: 1, family: 2, source: ipv6Bytes('2001:db8::1'), destination: ipv6Bytes('::1'), sourcePort: 1, destinationPort: 2, tlvs: Buffer.from([0x04, 0x00, 0x03, 1, 2, 3]) })],
  ])('splits %s at every offset: MORE (need past the cut) before, the same DONE after, truncated at end', (_name, header) => {
    const stream = Buffer.concat([header, FRAME]);
    const whole = result(parseWhole(stream));
    expect(whole.status).toBe(ProxyStatus.DONE);
    for (let cut = 0; cut < header.length; cut++) {
      const p = new ProxyHeaderParser('any');
      expect(p.parse(stream, 0, cut), `cut ${cut}`).toBe(ProxyStatus.MORE);
      expect(p.need).toBeGreaterThan(cut);
      expect(p.parse(stream, 0, stream.length)).toBe(ProxyStatus.DONE);
      expect(result(p)).toEqual(whole);
      const ended = new ProxyHeaderParser('any');
      ended.parse(stream, 0, cut);
      expect(ended.end()).toBe(ProxyStatus.ERROR);
      expect(ended.error).toBe('truncated');
    }
  });

  it('gives addresses as Node spells them: canonical IPv6, IPv4-mapped as ::ffff:a.b.c.d', () => {
    const v1 = parseWhole(encodeV1({ protocol: 'TCP6', source: '2001:0DB8:0000:0000:0000:0000:0000:0001', destination: '::FFFF:10.1.2.3', sourcePort: 1, destinationPort: 2 }));
    expect([v1.sourceAddress, v1.destinationAddress]).toEqual(['2001:db8::1', '::ffff:10.1.2.3']);
    const v2 = parseWhole(encodeV2({ command: 1, family: 2, source: ipv6Bytes('::ffff:192.0.2.7'), destination: ipv6Bytes('fe80::1:0:0:1'), sourcePort: 9, destinationPort: 7400 }));
    expect([v2.sourceAddress, v2.destinationAddress, v2.sourcePort, v2.destinationPort]).toEqual(['::ffff:192.0.2.7', 'fe80::1:0:0:1', 9, 7400]);
  });

  it('accepts the 107-byte worst-case v1 line and an UNKNOWN line with anything before CRLF', () => {
    const worst = Buffer.from(`PROXY UNKNOWN ${'ffff:'.repeat(7)}ffff ${'ffff:'.repeat(7)}ffff 65535 65535\r\n`, 'latin1');
    expect(worst.length).toBe(V1_MAX_BYTES);
    expect(parseWhole(worst)).toMatchObject({ status: ProxyStatus.DONE, kind: 'unknown', headerLength: 107 });
  });

  it('skips a v2 UNIX address block (216 bytes) as unknown: the socket address stands', () => {
    const h = encodeV2({ command: 1, family: 3, tlvs: Buffer.alloc(216, 0x61) });
    expect(parseWhole(h)).toMatchObject({ status: ProxyStatus.DONE, kind: 'unknown', headerLength: 232 });
  });

  it('stops parsing once done: later bytes do not change the answer', () => {
    const header = encodeV1({ protocol: 'TCP4', source: '1.2.3.4', destination: '5.6.7.8', sourcePort: 1, destinationPort: 2 });
    const p = parseWhole(header);
    expect(p.parse(Buffer.concat([header, Buffer.from('garbage')]), 0, header.length + 7)).toBe(ProxyStatus.DONE);
    expect(p.end()).toBe(ProxyStatus.DONE);
    expect(p.headerLength).toBe(header.length);
  });
});

const v4 = (src: string, dst: string) => encodeV1({ protocol: 'TCP4', source: src, destination: dst, sourcePort: 1, destinationPort: 2 });
const v2ip4 = { command: 1, family: 1, source: ipv4Bytes('10.0.0.1'), destination: ipv4Bytes('10.0.0.2'), sourcePort: 1, destinationPort: 2 };

describe('ProxyHeaderParser: invalid headers, each with its reason', () => {
  it.each<[string, Buffer, ProxyErrorReason, ProxyMode?]>([
    ['a PKT frame (no header at all)', FRAME, 'bad_signature'],
    ['an HTTP request', Buffer.from('GET / HTTP/1.1\r\n'), 'bad_signature'],
    ['lower-case proxy', Buffer.from('proxy TCP4 1.2.3.4 5.6.7.8 1 2\r\n'), 'bad_signature'],
    ['a v2 signature with one wrong byte', Buffer.concat([Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x01]), Buffer.alloc(20)]), 'bad_signature'],
    ['a v2 header where v1 is configured', encodeV2(v2ip4), 'bad_signature', 'v1'],
    ['a v1 header where v2 is configured', v4('1.2.3.4', '5.6.7.8'), 'bad_signature', 'v2'],
    ['v1 TCP5', Buffer.from('PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n'), 'bad_family'],
    ['v1 with two spaces', Buffer.from('PROXY TCP4  1.2.3.4 5.6.7.8 1 2\r\n'), 'bad_syntax'],
    ['v1 with a field missing', Buffer.from('PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n'), 'bad_syntax'],
    ['v1 with a field too many', Buffer.from('PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n'), 'bad_syntax'],
    ['v1 empty', Buffer.from('PROXY \r\n'), 'bad_syntax'],
    ['v1 ending in a bare LF', Buffer.from('PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n'), 'bad_syntax'],
    ['v1 with CR not followed by LF', Buffer.from('PROXY TCP4 1.2.3.4 5.6.7.8 1 2\rX'), 'bad_syntax'],
    ['v1 with a NUL', Buffer.from('PROXY TCP4 1.2.3.4\0 5.6.7.8 1 2\r\n'), 'bad_syntax'],
    ['v1 with a non-ASCII byte', Buffer.from('PROXY TCP4 1.2.3.4 5.6.7.8 1 2é\r\n', 'latin1'), 'bad_syntax'],
    ['v1 IPv4 with a leading zero', v4('01.2.3.4', '5.6.7.8'), 'bad_address'],
    ['v1 IPv4 octet above 255', v4('1.2.3.256', '5.6.7.8'), 'bad_address'],
    ['v1 IPv4 with three octets', v4('1.2.3', '5.6.7.8'), 'bad_address'],
    ['v1 IPv6 under TCP4', v4('::1', '5.6.7.8'), 'bad_address'],
    ['v1 IPv4 under TCP6', encodeV1({ protocol: 'TCP6', source: '1.2.3.4', destination: '::1', sourcePort: 1, destinationPort: 2 }), 'bad_address'],
    ['v1 IPv6 with a zone', encodeV1({ protocol: 'TCP6', source: 'fe80::1%eth0', destination: '::1', sourcePort: 1, destinationPort: 2 }), 'bad_address'],
    ['v1 IPv6 with two ::', encodeV1({ protocol: 'TCP6', source: '1::2::3', destination: '::1', sourcePort: 1, destinationPort: 2 }), 'bad_address'],
    ['v1 port above 65535', Buffer.from('PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n'), 'bad_address'],
    ['v1 port with a leading zero', Buffer.from('PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n'), 'bad_address'],
    ['v1 negative port', Buffer.from('PROXY TCP4 1.2.3.4 5.6.7.8 -1 2\r\n'), 'bad_address'],
    ['v2 version 1', encodeV2({ ...v2ip4, version: 1 }), 'bad_version'],
    ['v2 version 3', encodeV2({ ...v2ip4, version: 3 }), 'bad_version'],
    ['v2 command 2', encodeV2({ ...v2ip4, command: 2 }), 'bad_command'],
    ['v2 family 4', encodeV2({ ...v2ip4, family: 4 }), 'bad_family'],
    ['v2 transport 3', encodeV2({ ...v2ip4, transport: 3 }), 'bad_family'],
    ['v2 UDP over IPv4', encodeV2({ ...v2ip4, transport: 2 }), 'bad_family'],
    ['v2 IPv4 block of 11 bytes', encodeV2({ command: 1, family: 1, tlvs: Buffer.alloc(11) }), 'bad_address'],
    ['v2 IPv6 block of 35 bytes', encodeV2({ command: 1, family: 2, tlvs: Buffer.alloc(35) }), 'bad_address'],
    ['v2 UNIX block of 215 bytes', encodeV2({ command: 1, family: 3, tlvs: Buffer.alloc(215) }), 'bad_address'],
  ])('refuses %s', (_name, bytes, reason, mode = 'any') => {
    expect(errorOf(Buffer.concat([bytes, FRAME]), mode)).toBe(reason);
  });

  it('refuses a plain PKT frame by its second byte, before waiting for more', () => {
    const p = new ProxyHeaderParser('any');
    expect(p.parse(FRAME, 0, 1)).toBe(ProxyStatus.MORE);
    expect(p.parse(FRAME, 0, 2)).toBe(ProxyStatus.ERROR);
    expect(p.error).toBe('bad_signature');
  });

  it('refuses a v1 line without CRLF as soon as 107 bytes are there, not waiting for more', () => {
    const long = Buffer.from(`PROXY TCP4 ${'1'.repeat(200)}`, 'latin1');
    const p = new ProxyHeaderParser('v1');
    expect(p.parse(long, 0, V1_MAX_BYTES - 1)).toBe(ProxyStatus.MORE);
    expect(p.parse(long, 0, V1_MAX_BYTES)).toBe(ProxyStatus.ERROR);
    expect(p.error).toBe('too_long');
    // CR as the 107th byte: the LF would be the 108th.
    const crLate = Buffer.concat([Buffer.from(`PROXY UNKNOWN ${'x'.repeat(V1_MAX_BYTES - 15)}`, 'latin1'), Buffer.from('\r\n')]);
    expect(crLate.indexOf('\r')).toBe(V1_MAX_BYTES - 1);
    expect(errorOf(crLate)).toBe('too_long');
  });

  it('refuses a v2 length above the bound from the 16 fixed bytes alone, before the body arrives', () => {
    const header = encodeV2({ command: 1, family: 1, length: V2_DEFAULT_MAX_BYTES - 16 + 1 });
    const p = new ProxyHeaderParser('v2');
    expect(p.parse(header, 0, 15)).toBe(ProxyStatus.MORE);
    expect(p.parse(header, 0, 16)).toBe(ProxyStatus.ERROR);
    expect(p.error).toBe('too_long');
    // At the bound exactly it waits for the body, and never asks for more than the bound.
    const atBound = new ProxyHeaderParser('v2');
    atBound.parse(encodeV2({ command: 1, family: 1, length: V2_DEFAULT_MAX_BYTES - 16 }), 0, 16);
    expect(atBound.status).toBe(ProxyStatus.MORE);
    expect(atBound.need).toBe(V2_DEFAULT_MAX_BYTES);
    expect(errorOf(encodeV2({ ...v2ip4, tlvs: Buffer.alloc(100) }), 'v2', 16 + 50)).toBe('too_long');
  });

  it('detects each v2 refusal at its deciding byte', () => {
    const cases: Array<[Buffer, number]> = [
      [encodeV2({ ...v2ip4, version: 1 }), 13],
      [encodeV2({ ...v2ip4, command: 5 }), 13],
      [encodeV2({ ...v2ip4, family: 9 }), 14],
    ];
    for (const [bytes, at] of cases) {
      const p = new ProxyHeaderParser('v2');
      expect(p.parse(bytes, 0, at - 1)).toBe(ProxyStatus.MORE);
      expect(p.parse(bytes, 0, at)).toBe(ProxyStatus.ERROR);
    }
  });

  it('never throws and never asks for more than its bound, on any bytes', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 300 }),
          fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.concat([V2_SIGNATURE, b])),
          fc.uint8Array({ maxLength: 120 }).map((b) => Buffer.concat([Buffer.from('PROXY '), b])),
          fc.string({ maxLength: 120 }).map((s) => Buffer.from(`PROXY ${s}\r\n`, 'latin1')),
        ),
        fc.constantFrom<ProxyMode>('v1', 'v2', 'any'),
        fc.array(fc.integer({ min: 1, max: 64 }), { maxLength: 8 }),
        (bytes, mode, cuts) => {
          const whole = parseWhole(Buffer.from(bytes), mode);
          const cut = parseCut(Buffer.from(bytes), cuts, mode);
          expect(result(cut)).toEqual(result(whole));
          if (whole.status === ProxyStatus.MORE) expect(whole.need).toBeLessThanOrEqual(V2_DEFAULT_MAX_BYTES);
          if (whole.status === ProxyStatus.DONE) expect(whole.headerLength).toBeLessThanOrEqual(Math.min(bytes.length, V2_DEFAULT_MAX_BYTES));
          if (whole.status === ProxyStatus.ERROR) expect(whole.error).not.toBeNull();
        },
      ),
      { numRuns: 1000 },
    );
  });
});
