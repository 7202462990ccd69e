/**
 * One line per frame for `pkt-ingest dump`: text for people, JSON for
 * tools (JSON: json-line-writer.ts). Only what is printed is computed: the
 * payload is encoded only in the chosen encoding (and only the preview's
 * bytes in text), ids come from the decoder's id cache. Pure functions of a
 * PacketView.
 */
import type { PacketView } from '../frame/packet-view.js';
import type { PayloadEncoding } from './tool-args.js';

/** Bytes of payload a text preview shows at most. */
export const PREVIEW_BYTES = 32;

const FLAG_NAMES: ReadonlyArray<readonly [number, string]> = [
  [0x01, 'COMPRESSED'],
  [0x02, 'ENCRYPTED'],
  [0x04, 'PRIORITY'],
  [0x08, 'FRAGMENT'],
  [0x10, 'ACK_REQUEST'],
  [0x20, 'ACK'],
  [0x40, 'FINAL'],
];

/** 0x14 -> "PRIORITY|ACK_REQUEST", 0 -> "-", unknown bits as hex. */
export function flagNames(flags: number): string {
  if (flags === 0) return '-';
  const names: string[] = [];
  let rest = flags;
  for (const [bit, name] of FLAG_NAMES) {
    if (flags & bit) {
      names.push(name);
      rest &= ~bit;
    }
  }
  if (rest !== 0) names.push(`0x${rest.toString(16).padStart(2, '0')}`);
  return names.join('|');
}

const EXTENSION_NAMES = ['unknown', 'metadata', 'encryption', 'compression', 'routing', 'sequence'];

export function extensionName(type: number): string {
  return type >= 0x80 ? `custom${type}` : (EXTENSION_NAMES[type] ?? `unknown${type}`);
}

/** Microseconds since the epoch -> "2023-11-14T22:13:20.000000Z". */
export function isoMicros(micros: number): string {
  const ms = Math.floor(micros / 1000);
  const date = new Date(ms);
  if (Number.isNaN(date.getTime())) return `@${micros}us`; // beyond Date's range: show the number
  return `${date.toISOString().slice(0, 23)}${String(micros - ms * 1000).padStart(3, '0')}Z`;
}

/**
 * Printable text as is, the rest as \xNN, so a preview stays on one line.
 * Valid UTF-8 shows its characters; bytes that are not show as bytes.
 */
function escapedUtf8(buf: Buffer, start: number, end: number): string {
  const text = buf.toString('utf8', start, end);
  const valid = !text.includes('\ufffd');
  let s = '';
  if (valid) {
    for (const ch of text) {
      const c = ch.codePointAt(0) as number;
      s += c < 0x20 || c === 0x7f ? hexByte(c) : c === 0x5c ? '\\\\' : ch;
    }
    return s;
  }
  for (let i = start; i < end; i++) {
    const c = buf[i];
    s += c >= 0x20 && c < 0x7f && c !== 0x5c ? String.fromCharCode(c) : c === 0x5c ? '\\\\' : hexByte(c);
  }
  return s;
}

function hexByte(c: number): string {
  return `\\x${c.toString(16).padStart(2, '0')}`;
}

function extensionsText(view: PacketView): string {
  if (view.destEnd + 1 === view.frameStart + view.headerLength) return '-';
  const parts: string[] = [];
  for (const ext of view.extensions()) parts.push(`${extensionName(ext.type)}[${ext.value.length}]`);
  return parts.join(',');
}

export function textLine(view: PacketView, encoding: PayloadEncoding | undefined): string {
  const payloadStart = view.frameStart + view.headerLength;
  const n = view.payloadLength;
  let preview = '';
  const enc = encoding ?? 'utf8';
  if (enc !== 'none' && n > 0) {
    const end = payloadStart + Math.min(n, PREVIEW_BYTES);
    const more = n > PREVIEW_BYTES ? '…' : '';
    preview =
      enc === 'utf8'
        ? `  "${escapedUtf8(view.buffer, payloadStart, end)}${more}"`
        : `  ${view.buffer.toString(enc, payloadStart, end)}${more}`;
  }
  return (
    `${view.offset}  ${isoMicros(view.timestamp)}  ${view.sourceId} -> ${view.destId}  ` +
    `flags=${flagNames(view.flags)}  ext=${extensionsText(view)}  ${n} B${preview}\n`
  );
}

/** The extensions as a JSON array (ASCII): the writer's rare path (json-line-writer.ts). */
export function extensionsJson(view: PacketView): string {
  if (view.destEnd + 1 === view.frameStart + view.headerLength) return '[]';
  const parts: string[] = [];
  for (const ext of view.extensions()) {
    parts.push(`{"type":${ext.type},"name":"${extensionName(ext.type)}","value":"${Buffer.from(ext.value.buffer, ext.value.byteOffset, ext.value.length).toString('hex')}"}`);
  }
  return `[${parts.join(',')}]`;
}
