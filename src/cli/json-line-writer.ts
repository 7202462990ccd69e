/**
 * `dump --json` lines written straight into the output Buffer: no string
 * per frame, no rope to flatten, nothing for the GC. The same bytes as
 * JsonLines.line() (dump-format.ts, kept as the reference and tested
 * against this writer), about 3x cheaper per frame at 64 B payloads.
 *
 *   {"offset":N,"version":V,"flags":F,"timestamp":T,"sourceId":"..","destId":"..",
 *    "extensions":[..],"payloadLength":N,"payload":"<base64|hex>"|null}\n
 *
 * Constant pieces and each id's JSON are bytes made once (ids: per distinct
 * id, in a bounded map; the decoder's id cache makes the strings); numbers are written digit by digit;
 * base64 and hex are encoded from the frame's bytes through lookup tables.
 * Rare or wide parts (extensions, a utf8 payload, a timestamp past 2^53)
 * go through a string, as JsonLines does. Hand-written because Node has no
 * Buffer-to-Buffer base64 or hex encoder; it is small and byte-compared
 * with the string version in the tests.
 */
import type { PacketView } from '../frame/packet-view.js';
import { extensionsJson } from './dump-format.js';
import type { PayloadEncoding } from './tool-args.js';

const bytes = (s: string): Buffer => Buffer.from(s, 'latin1');
const OFFSET = bytes('{"offset":');
const VERSION = bytes(',"version":');
const FLAGS = bytes(',"flags":');
const TIMESTAMP = bytes(',"timestamp":');
const SOURCE = bytes(',"sourceId":');
const DEST = bytes(',"destId":');
const EXTENSIONS = bytes(',"extensions":');
const NO_EXTENSIONS = bytes('[]');
const PAYLOAD_LENGTH = bytes(',"payloadLength":');
const PAYLOAD = bytes(',"payload":');
const NULL_END = bytes('null}\n');

const BASE64 = bytes('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/');
const HEX = bytes('0123456789abcdef');
const QUOTE = 0x22;
const ID_CACHE_SIZE = 4096;
const EQUALS = 0x3d;

function put(out: Buffer, at: number, piece: Uint8Array): number {
  for (let i = 0; i < piece.length; i++) out[at + i] = piece[i];
  return at + piece.length;
}

/** A non-negative integer below 2^31 in decimal (32-bit integer math). */
function putSmall(out: Buffer, at: number, n: number): number {
  let digits = 1;
  for (let t = n; t >= 10; t = (t / 10) | 0) digits++;
  let p = at + digits;
  for (let t = n; p > at; ) {
    const q = (t / 10) | 0;
    out[--p] = 0x30 + (t - q * 10);
    t = q;
  }
  return at + digits;
}

/** A non-negative safe integer in decimal: below 2^53 it splits into two parts below 2^31 (a timestamp has 16 digits). */
function putUint(out: Buffer, at: number, n: number): number {
  if (n < 0x8000_0000) return putSmall(out, at, n);
  const high = Math.floor(n / 1e8);
  const o = putSmall(out, at, high);
  let low = (n - high * 1e8) | 0;
  for (let p = o + 7; p >= o; p--) {
    const q = (low / 10) | 0;
    out[p] = 0x30 + (low - q * 10);
    low = q;
  }
  return o + 8;
}

function putBase64(out: Buffer, at: number, src: Buffer, start: number, end: number): number {
  let i = start;
  let o = at;
  for (; i + 2 < end; i += 3) {
    const v = (src[i] << 16) | (src[i + 1] << 8) | src[i + 2];
    out[o] = BASE64[v >>> 18];
    out[o + 1] = BASE64[(v >>> 12) & 63];
    out[o + 2] = BASE64[(v >>> 6) & 63];
    out[o + 3] = BASE64[v & 63];
    o += 4;
  }
  if (i < end) {
    const two = i + 1 < end;
    const v = (src[i] << 16) | (two ? src[i + 1] << 8 : 0);
    out[o] = BASE64[v >>> 18];
    out[o + 1] = BASE64[(v >>> 12) & 63];
    out[o + 2] = two ? BASE64[(v >>> 6) & 63] : EQUALS;
    out[o + 3] = EQUALS;
    o += 4;
  }
  return o;
}

function putHex(out: Buffer, at: number, src: Buffer, start: number, end: number): number {
  let o = at;
  for (let i = start; i < end; i++) {
    out[o++] = HEX[src[i] >>> 4];
    out[o++] = HEX[src[i] & 15];
  }
  return o;
}

/** Ids' JSON bytes, made once per distinct id (bounded: cleared when full). */
class IdJson {
  private readonly made = new Map<string, Buffer>();

  of(id: string): Buffer {
    let json = this.made.get(id);
    if (json === undefined) {
      if (this.made.size >= ID_CACHE_SIZE) this.made.clear();
      json = Buffer.from(JSON.stringify(id), 'utf8');
      this.made.set(id, json);
    }
    return json;
  }
}

export class JsonLineWriter {
  private readonly ids = new IdJson();

  constructor(private readonly encoding: PayloadEncoding) {}

  /** The most bytes write() can take for this frame (check the room first). */
  bound(view: PacketView): number {
    const n = view.payloadLength;
    const payload = this.encoding === 'base64' ? Math.ceil(n / 3) * 4 : this.encoding === 'hex' ? 2 * n : this.encoding === 'utf8' ? 6 * n : 0;
    // Constants, five numbers of at most 20 digits, ids escaped (6 bytes per byte at worst) and extensions (hex, names, about 45 bytes per empty one) within 16 per header byte.
    return 256 + 16 * view.headerLength + payload;
  }

  /** Writes the frame's line at `at` (room: bound(view) bytes); returns the end. */
  write(view: PacketView, out: Buffer, at: number): number {
    const buf = view.buffer;
    let o = put(out, at, OFFSET);
    o = putUint(out, o, view.offset);
    o = put(out, o, VERSION);
    o = putUint(out, o, view.version);
    o = put(out, o, FLAGS);
    o = putUint(out, o, view.flags);
    o = put(out, o, TIMESTAMP);
    const ts = view.timestamp;
    o = ts > Number.MAX_SAFE_INTEGER ? o + out.write(view.timestampBigInt.toString(), o, 'latin1') : putUint(out, o, ts);
    o = put(out, o, SOURCE);
    o = put(out, o, this.ids.of(view.sourceId));
    o = put(out, o, DEST);
    o = put(out, o, this.ids.of(view.destId));
    o = put(out, o, EXTENSIONS);
    const payloadStart = view.frameStart + view.headerLength;
    o = view.destEnd + 1 === payloadStart ? put(out, o, NO_EXTENSIONS) : o + out.write(extensionsJson(view), o, 'latin1');
    o = put(out, o, PAYLOAD_LENGTH);
    o = putUint(out, o, view.payloadLength);
    o = put(out, o, PAYLOAD);
    const payloadEnd = payloadStart + view.payloadLength;
    switch (this.encoding) {
      case 'none':
        return put(out, o, NULL_END);
      case 'utf8':
        o += out.write(JSON.stringify(buf.toString('utf8', payloadStart, payloadEnd)), o);
        break;
      default:
        out[o++] = QUOTE;
        o = this.encoding === 'base64' ? putBase64(out, o, buf, payloadStart, payloadEnd) : putHex(out, o, buf, payloadStart, payloadEnd);
        out[o++] = QUOTE;
    }
    out[o] = 0x7d; // }
    out[o + 1] = 0x0a; // \n
    return o + 2;
  }
}
