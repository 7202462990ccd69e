/**
 * The PROXY protocol preamble (HAProxy's proxy-protocol.txt, v1 and v2):
 * an incremental parser over the bytes a connection has received so far.
 * Like the frame decoder it never touches I/O and never copies: it is handed
 * buf[start, end), every byte since the connection began (contiguous), and
 * answers MORE (need more bytes), DONE (`headerLength` bytes were the header:
 * framing starts right after them, those bytes untouched) or ERROR (`error`
 * names the check). Bytes already checked are not looked at again, so a
 * header trickling in byte by byte costs one pass.
 *
 *   v1  "PROXY " TCP4|TCP6|UNKNOWN ... CRLF          at most 107 bytes
 *   v2  +--------------------------+-----+-----+--------+-----------------+
 *       | sig 0D0A0D0A000D0A515549540A | ver/cmd | fam/proto | len u16 BE | addresses, TLVs |
 *       +--------------------------+-----+-----+--------+-----------------+
 *        0                       12     13    14       16          16+len
 *       len is checked against maxBytes as soon as its 2 bytes arrive,
 *       before anything waits for the rest; TLVs are skipped.
 *
 *   state   needs                              then
 *   SIG     the signature, byte by byte         bad byte -> ERROR bad_signature
 *   V1      CRLF within 107 bytes (printable)   line parsed -> DONE
 *   V2      16, then 16 + len                   addresses read -> DONE
 *
 * Written here, not taken from npm: `proxy-protocol-js` parses one complete
 * buffer (v1 as a string) and throws; `@balena/proxy-protocol-parser` pulls
 * in two dependencies and is also not incremental. The server needs a
 * bounded, incremental, zero-dependency parser whose every failure has a
 * name, and the format is small and fully specified.
 *
 * State: one parser per connection, owned by the accept path, dropped once
 * DONE or ERROR. At end of stream the owner calls end(): a header in
 * progress becomes ERROR truncated. Nothing here outlives the preamble.
 */
import net from 'node:net';

export type ProxyMode = 'v1' | 'v2' | 'any';

export type ProxyErrorReason =
  | 'bad_signature' // neither header (or not the configured version)
  | 'bad_syntax' // v1: not the one-space-separated printable line
  | 'bad_version' // v2: version nibble is not 2
  | 'bad_command' // v2: command is neither LOCAL nor PROXY
  | 'bad_family' // v1 protocol or v2 family/transport not allowed
  | 'bad_address' // an address or port that does not parse, or a v2 block too short for its family
  | 'too_long' // v1 without CRLF in 107 bytes, v2 16 + len above maxBytes
  | 'truncated'; // the stream ended inside the header

export const PROXY_ERROR_REASONS: readonly ProxyErrorReason[] = [
  'bad_signature', 'bad_syntax', 'bad_version', 'bad_command', 'bad_family', 'bad_address', 'too_long', 'truncated',
];

export const ProxyStatus = { MORE: 0, DONE: 1, ERROR: 2 } as const;
export type ProxyStatus = (typeof ProxyStatus)[keyof typeof ProxyStatus];

/** `proxy`: addresses carried; `local` (v2 LOCAL) and `unknown` (v1 UNKNOWN, v2 UNSPEC/UNIX): use the socket's. */
export type ProxyKind = 'proxy' | 'local' | 'unknown';

/** Longest v1 line, CRLF included (the spec's worst case). */
export const V1_MAX_BYTES = 107;
export const V2_FIXED_BYTES = 16;
/** Default bound of a v2 header: addresses plus room for the TLVs load balancers send. */
export const V2_DEFAULT_MAX_BYTES = V2_FIXED_BYTES + 4096;
const V2_ABSOLUTE_MAX_BYTES = V2_FIXED_BYTES + 0xffff;

const V1_SIGNATURE = Buffer.from('PROXY ', 'latin1');
const V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
const CR = 0x0d;
const LF = 0x0a;
const IPV4_TEXT = /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;
const IPV6_TEXT = /^[0-9A-Fa-f:.]{2,45}$/;
const PORT_TEXT = /^(?:0|[1-9]\d{0,4})$/;

const enum State {
  Sig,
  V1,
  V2,
}

export class ProxyHeaderParser {
  readonly mode: ProxyMode;
  /** Largest v2 header accepted (16 + len). */
  readonly maxBytes: number;
  status: ProxyStatus = ProxyStatus.MORE;
  /** Bytes from the connection's start needed before parsing can go on. */
  need = 1;
  error: ProxyErrorReason | null = null;
  // Set at DONE.
  headerLength = 0;
  version: 1 | 2 | 0 = 0;
  kind: ProxyKind = 'unknown';
  family: 'IPv4' | 'IPv6' | null = null;
  sourceAddress = '';
  sourcePort = 0;
  destinationAddress = '';
  destinationPort = 0;

  private state = State.Sig;
  /** Bytes from the start already checked. */
  private checked = 0;
  private signature: Buffer | null = null;

  constructor(mode: ProxyMode, maxBytes = V2_DEFAULT_MAX_BYTES) {
    this.mode = mode;
    this.maxBytes = Math.min(Math.max(maxBytes, V2_FIXED_BYTES), V2_ABSOLUTE_MAX_BYTES);
    if (mode === 'v1') this.signature = V1_SIGNATURE;
    if (mode === 'v2') this.signature = V2_SIGNATURE;
  }

  /** buf[start, end): every byte received since the connection began. */
  parse(buf: Buffer, start: number, end: number): ProxyStatus {
    if (this.status !== ProxyStatus.MORE) return this.status;
    const avail = end - start;
    if (this.state === State.Sig && !this.matchSignature(buf, start, avail)) return this.status;
    return this.state === State.V1 ? this.parseV1(buf, start, avail) : this.parseV2(buf, start, avail);
  }

  /** End of stream: a header still in progress is truncated. */
  end(): ProxyStatus {
    return this.status === ProxyStatus.MORE ? this.fail('truncated') : this.status;
  }

  /** False while the signature is incomplete or wrong (status says which). */
  private matchSignature(buf: Buffer, start: number, avail: number): boolean {
    if (this.signature === null) {
      if (avail === 0) return false;
      const first = buf[start];
      this.signature = first === V1_SIGNATURE[0] ? V1_SIGNATURE : first === V2_SIGNATURE[0] ? V2_SIGNATURE : null;
      if (this.signature === null) return this.refuse('bad_signature');
    }
    const sig = this.signature;
    const upTo = Math.min(avail, sig.length);
    for (let i = this.checked; i < upTo; i++) {
      if (buf[start + i] !== sig[i]) return this.refuse('bad_signature');
    }
    this.checked = upTo;
    if (upTo < sig.length) {
      this.need = sig.length;
      return false;
    }
    this.state = sig === V1_SIGNATURE ? State.V1 : State.V2;
    return true;
  }

  private parseV1(buf: Buffer, start: number, avail: number): ProxyStatus {
    const limit = Math.min(avail, V1_MAX_BYTES);
    for (let i = this.checked; i < limit; i++) {
      const c = buf[start + i];
      if (c === CR) {
        if (i + 1 >= V1_MAX_BYTES) return this.fail('too_long');
        if (i + 1 >= avail) {
          this.checked = i;
          this.need = i + 2;
          return this.status;
        }
        if (buf[start + i + 1] !== LF) return this.fail('bad_syntax');
        return this.parseV1Line(buf.toString('latin1', start + V1_SIGNATURE.length, start + i), i + 2);
      }
      // Printable ASCII only: a stray LF, a NUL or binary is refused at once.
      if (c < 0x20 || c > 0x7e) return this.fail('bad_syntax');
    }
    if (limit === V1_MAX_BYTES) return this.fail('too_long');
    this.checked = limit;
    this.need = limit + 1;
    return this.status;
  }

  private parseV1Line(line: string, headerLength: number): ProxyStatus {
    const fields = line.split(' ');
    const protocol = fields[0];
    // UNKNOWN: "the receiver must ignore anything presented before the CRLF".
    if (protocol === 'UNKNOWN') return this.done(1, 'unknown', headerLength);
    if (protocol !== 'TCP4' && protocol !== 'TCP6') return this.fail(protocol === '' ? 'bad_syntax' : 'bad_family');
    if (fields.length !== 5) return this.fail('bad_syntax');
    const [, src, dst, sport, dport] = fields;
    const v4 = protocol === 'TCP4';
    const source = v4 ? ipv4Text(src) : ipv6Text(src);
    const destination = v4 ? ipv4Text(dst) : ipv6Text(dst);
    const sourcePort = portText(sport);
    const destinationPort = portText(dport);
    if (source === null || destination === null || sourcePort < 0 || destinationPort < 0) return this.fail('bad_address');
    this.setAddresses(v4 ? 'IPv4' : 'IPv6', source, sourcePort, destination, destinationPort);
    return this.done(1, 'proxy', headerLength);
  }

  private parseV2(buf: Buffer, start: number, avail: number): ProxyStatus {
    if (avail <= 12) return this.more(13);
    const verCmd = buf[start + 12];
    if (verCmd >> 4 !== 2) return this.fail('bad_version');
    const command = verCmd & 0x0f;
    if (command > 1) return this.fail('bad_command');
    if (avail <= 13) return this.more(14);
    const famProto = buf[start + 13];
    const family = famProto >> 4;
    const transport = famProto & 0x0f;
    // LOCAL ignores the family byte (the spec: "discard the protocol block including the family").
    if (command === 1 && (family > 3 || transport > 2)) return this.fail('bad_family');
    if (avail < V2_FIXED_BYTES) return this.more(V2_FIXED_BYTES);
    const headerLength = V2_FIXED_BYTES + ((buf[start + 14] << 8) | buf[start + 15]);
    if (headerLength > this.maxBytes) return this.fail('too_long');
    if (avail < headerLength) return this.more(headerLength);
    const bodyLength = headerLength - V2_FIXED_BYTES;
    if (command === 0) return this.done(2, 'local', headerLength);
    if (family === 0 || transport === 0) return this.done(2, 'unknown', headerLength);
    // A stream server has no use for a datagram's addresses; a proxy that says so is misconfigured.
    if (transport === 2) return this.fail('bad_family');
    const body = start + V2_FIXED_BYTES;
    if (family === 3) return bodyLength < 216 ? this.fail('bad_address') : this.done(2, 'unknown', headerLength);
    if (family === 1) {
      if (bodyLength < 12) return this.fail('bad_address');
      this.setAddresses('IPv4', ipv4Bytes(buf, body), port(buf, body + 8), ipv4Bytes(buf, body + 4), port(buf, body + 10));
    } else {
      if (bodyLength < 36) return this.fail('bad_address');
      this.setAddresses('IPv6', ipv6Bytes(buf, body), port(buf, body + 32), ipv6Bytes(buf, body + 16), port(buf, body + 34));
    }
    return this.done(2, 'proxy', headerLength);
  }

  private setAddresses(family: 'IPv4' | 'IPv6', source: string, sourcePort: number, destination: string, destinationPort: number): void {
    this.family = family;
    this.sourceAddress = source;
    this.sourcePort = sourcePort;
    this.destinationAddress = destination;
    this.destinationPort = destinationPort;
  }

  private more(need: number): ProxyStatus {
    this.need = need;
    return this.status;
  }

  private done(version: 1 | 2, kind: ProxyKind, headerLength: number): ProxyStatus {
    this.version = version;
    this.kind = kind;
    this.headerLength = headerLength;
    this.need = headerLength;
    this.status = ProxyStatus.DONE;
    return this.status;
  }

  /** fail() for the boolean steps. */
  private refuse(reason: ProxyErrorReason): false {
    this.fail(reason);
    return false;
  }

  private fail(reason: ProxyErrorReason): ProxyStatus {
    this.error = reason;
    this.status = ProxyStatus.ERROR;
    return this.status;
  }
}

function ipv4Text(text: string): string | null {
  return IPV4_TEXT.test(text) ? text : null;
}

/** Canonical (RFC 5952) text, as Node reports socket.remoteAddress; null if not an IPv6 address. */
function ipv6Text(text: string): string | null {
  if (!IPV6_TEXT.test(text) || !net.isIPv6(text)) return null;
  return new net.SocketAddress({ address: text, family: 'ipv6' }).address;
}

function portText(text: string): number {
  if (!PORT_TEXT.test(text)) return -1;
  const n = Number(text);
  return n <= 0xffff ? n : -1;
}

function port(buf: Buffer, p: number): number {
  return (buf[p] << 8) | buf[p + 1];
}

function ipv4Bytes(buf: Buffer, p: number): string {
  return `${buf[p]}.${buf[p + 1]}.${buf[p + 2]}.${buf[p + 3]}`;
}

function ipv6Bytes(buf: Buffer, p: number): string {
  let text = port(buf, p).toString(16);
  for (let i = 2; i < 16; i += 2) text += `:${port(buf, p + i).toString(16)}`;
  // inet_ntop's canonical form: zero runs compressed, IPv4-mapped as ::ffff:a.b.c.d.
  return new net.SocketAddress({ address: text, family: 'ipv6' }).address;
}
