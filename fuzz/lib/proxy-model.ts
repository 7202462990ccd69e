/**
 * A reference judge of a PROXY protocol preamble, written straight from the
 * spec and deliberately unlike src/socket/proxy-protocol.ts: it sees the
 * whole input at once (no states, no resumption), decodes v1 with one
 * regular expression and v2 with a DataView. The fuzzer checks the
 * incremental parser against it. It answers what a complete input decides;
 * `more` when the input ends before the decision.
 */
import net from 'node:net';

export type ModelVerdict =
  | { status: 'more' }
  | { status: 'error'; reason: string }
  | { status: 'done'; headerLength: number; kind: string; family: string | null; source: string; sourcePort: number; destination: string; destinationPort: number };

const SIG2 = Buffer.from('0d0a0d0a000d0a515549540a', 'hex');
const OCTET = '(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])';
const IP4 = `${OCTET}(?:\\.${OCTET}){3}`;
const PORT = '(?:0|[1-9][0-9]{0,4})';
const V1_LINE = new RegExp(`^PROXY (?:(UNKNOWN)(?: [ -~]*)?|(TCP4|TCP6) ([^ ]+) ([^ ]+) (${PORT}) (${PORT}))$`);

export function judgeProxy(input: Buffer, mode: 'v1' | 'v2' | 'any', maxBytes: number): ModelVerdict {
  if (input.length === 0) return { status: 'more' };
  const v1 = mode === 'v1' || (mode === 'any' && input[0] === 0x50);
  const v2 = mode === 'v2' || (mode === 'any' && input[0] === 0x0d);
  if (!v1 && !v2) return { status: 'error', reason: 'bad_signature' };
  const sig = v1 ? Buffer.from('PROXY ') : SIG2;
  const shown = input.subarray(0, sig.length);
  if (!sig.subarray(0, shown.length).equals(shown)) return { status: 'error', reason: 'bad_signature' };
  if (shown.length < sig.length) return { status: 'more' };
  return v1 ? judgeV1(input) : judgeV2(input, maxBytes);
}

function judgeV1(input: Buffer): ModelVerdict {
  const window = input.subarray(0, 107);
  // The first byte that is not printable ASCII decides: a CR must be followed by LF within 107 bytes.
  let i = 6;
  while (i < window.length && window[i] >= 0x20 && window[i] <= 0x7e) i++;
  if (i === 107) return { status: 'error', reason: 'too_long' };
  if (i === window.length) return { status: 'more' };
  if (window[i] !== 0x0d) return { status: 'error', reason: 'bad_syntax' };
  if (i + 1 === 107) return { status: 'error', reason: 'too_long' };
  if (i + 1 === input.length) return { status: 'more' };
  if (input[i + 1] !== 0x0a) return { status: 'error', reason: 'bad_syntax' };
  const line = input.toString('latin1', 0, i);
  const m = V1_LINE.exec(line);
  const headerLength = i + 2;
  if (m === null) {
    const proto = line.slice(6).split(' ')[0];
    if (proto !== 'TCP4' && proto !== 'TCP6' && proto !== 'UNKNOWN' && proto !== '') return { status: 'error', reason: 'bad_family' };
    const fields = line.slice(6).split(' ');
    if (proto === '' || fields.length !== 5) return { status: 'error', reason: 'bad_syntax' };
    return { status: 'error', reason: 'bad_address' };
  }
  if (m[1] === 'UNKNOWN') return done(headerLength, 'unknown', null, '', 0, '', 0);
  const [, , proto, src, dst, sp, dp] = m;
  const ok4 = (a: string) => new RegExp(`^${IP4}$`).test(a);
  const ok6 = (a: string) => /^[0-9A-Fa-f:.]+$/.test(a) && net.isIPv6(a);
  const ok = proto === 'TCP4' ? ok4 : ok6;
  if (!ok(src) || !ok(dst) || Number(sp) > 65535 || Number(dp) > 65535) return { status: 'error', reason: 'bad_address' };
  const canon = (a: string) => (proto === 'TCP4' ? a : new net.SocketAddress({ address: a, family: 'ipv6' }).address);
  return done(headerLength, 'proxy', proto === 'TCP4' ? 'IPv4' : 'IPv6', canon(src), Number(sp), canon(dst), Number(dp));
}

function judgeV2(input: Buffer, maxBytes: number): ModelVerdict {
  if (input.length < 13) return { status: 'more' };
  const version = input[12] >> 4;
  const command = input[12] & 15;
  if (version !== 2) return { status: 'error', reason: 'bad_version' };
  if (command !== 0 && command !== 1) return { status: 'error', reason: 'bad_command' };
  if (input.length < 14) return { status: 'more' };
  const fam = input[13] >> 4;
  const proto = input[13] & 15;
  if (command === 1 && (fam > 3 || proto > 2)) return { status: 'error', reason: 'bad_family' };
  if (input.length < 16) return { status: 'more' };
  const view = new DataView(input.buffer, input.byteOffset, input.length);
  const total = 16 + view.getUint16(14);
  if (total > maxBytes) return { status: 'error', reason: 'too_long' };
  if (input.length < total) return { status: 'more' };
  if (command === 0) return done(total, 'local', null, '', 0, '', 0);
  if (fam === 0 || proto === 0) return done(total, 'unknown', null, '', 0, '', 0);
  if (proto === 2) return { status: 'error', reason: 'bad_family' };
  const need = [0, 12, 36, 216][fam];
  if (total - 16 < need) return { status: 'error', reason: 'bad_address' };
  if (fam === 3) return done(total, 'unknown', null, '', 0, '', 0);
  if (fam === 1) {
    const ip = (o: number) => [0, 1, 2, 3].map((k) => input[o + k]).join('.');
    return done(total, 'proxy', 'IPv4', ip(16), view.getUint16(24), ip(20), view.getUint16(26));
  }
  const ip = (o: number) => {
    const groups = [];
    for (let k = 0; k < 8; k++) groups.push(view.getUint16(o + 2 * k).toString(16));
    return new net.SocketAddress({ address: groups.join(':'), family: 'ipv6' }).address;
  };
  return done(total, 'proxy', 'IPv6', ip(16), view.getUint16(48), ip(32), view.getUint16(50));
}

function done(headerLength: number, kind: string, family: string | null, source: string, sourcePort: number, destination: string, destinationPort: number): ModelVerdict {
  return { status: 'done', headerLength, kind, family, source, sourcePort, destination, destinationPort };
}
