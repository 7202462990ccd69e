/**
 * PROXY protocol headers for tests and the fuzzer, written from the spec
 * (HAProxy's proxy-protocol.txt) independently of src/socket/proxy-protocol.ts.
 */
export const V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);

export interface V1Header {
  protocol: 'TCP4' | 'TCP6' | 'UNKNOWN';
  source?: string;
  destination?: string;
  sourcePort?: number;
  destinationPort?: number;
}

export function encodeV1(h: V1Header): Buffer {
  if (h.protocol === 'UNKNOWN' && h.source === undefined) return Buffer.from('PROXY UNKNOWN\r\n', 'latin1');
  return Buffer.from(`PROXY ${h.protocol} ${h.source} ${h.destination} ${h.sourcePort} ${h.destinationPort}\r\n`, 'latin1');
}

export interface V2Header {
  /** 0 LOCAL, 1 PROXY (others to test refusals). */
  command: number;
  /** 0 UNSPEC, 1 INET, 2 INET6, 3 UNIX. */
  family: number;
  /** 0 UNSPEC, 1 STREAM, 2 DGRAM. */
  transport?: number;
  version?: number;
  source?: Uint8Array;
  destination?: Uint8Array;
  sourcePort?: number;
  destinationPort?: number;
  /** Raw bytes after the addresses (TLVs); the parser skips them. */
  tlvs?: Uint8Array;
  /** Overrides the length field (to test lies). */
  length?: number;
}

export function encodeV2(h: V2Header): Buffer {
  const addresses: Buffer[] = [];
  if (h.source !== undefined && h.destination !== undefined) {
    const ports = Buffer.alloc(4);
    ports.writeUInt16BE(h.sourcePort ?? 0, 0);
    ports.writeUInt16BE(h.destinationPort ?? 0, 2);
    addresses.push(Buffer.from(h.source), Buffer.from(h.destination), ports);
  }
  if (h.tlvs !== undefined) addresses.push(Buffer.from(h.tlvs));
  const body = Buffer.concat(addresses);
  const fixed = Buffer.alloc(16);
  V2_SIGNATURE.copy(fixed, 0);
  fixed[12] = ((h.version ?? 2) << 4) | h.command;
  fixed[13] = (h.family << 4) | (h.transport ?? 1);
  fixed.writeUInt16BE(h.length ?? body.length, 14);
  return Buffer.concat([fixed, body]);
}

export function ipv4Bytes(text: string): Buffer {
  return Buffer.from(text.split('.').map(Number));
}

/** Any IPv6 spelling (compressed, embedded IPv4) to its 16 bytes. */
export function ipv6Bytes(text: string): Buffer {
  const groups = (part: string): number[] =>
    part === ''
      ? []
      : part.split(':').flatMap((g) => {
          if (!g.includes('.')) return [parseInt(g, 16)];
          const [a, b, c, d] = g.split('.').map(Number);
          return [(a << 8) | b, (c << 8) | d];
        });
  const gap = text.indexOf('::');
  const all =
    gap === -1
      ? groups(text)
      : (() => {
          const left = groups(text.slice(0, gap));
          const right = groups(text.slice(gap + 2));
          return [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
        })();
  const out = Buffer.alloc(16);
  all.forEach((g, i) => out.writeUInt16BE(g, i * 2));
  return out;
}

/** 16 bytes as 8 full hex groups, e.g. for a v1 TCP6 line. */
export function ipv6Full(bytes: Uint8Array, upper = false): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i] << 8) | bytes[i + 1]).toString(16).padStart(4, '0'));
  const text = groups.join(':');
  return upper ? text.toUpperCase() : text;
}
