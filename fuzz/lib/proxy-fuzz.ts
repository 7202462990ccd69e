/**
 * The PROXY protocol target: seeded inputs (a generated v1 or v2 header,
 * often mutated, followed by frame bytes) fed to ProxyHeaderParser in random
 * reads, each read's answer checked against the reference judge
 * (fuzz/lib/proxy-model.ts) on the same prefix. Input `index` of run `seed`
 * is always the same case. A finding writes its bytes to os.tmpdir().
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { ProxyHeaderParser, ProxyStatus, V2_DEFAULT_MAX_BYTES, type ProxyMode } from '../../src/socket/proxy-protocol.js';
import { encodeFrame } from '../../src/wire/encode.js';
import { encodeV1, encodeV2, ipv6Full } from '../../test/helpers/proxy-headers.js';
import { judgeProxy, type ModelVerdict } from './proxy-model.js';
import { inputSeed, Rand } from './rand.js';

export interface ProxyCase {
  bytes: Buffer;
  mode: ProxyMode;
  maxBytes: number;
  cuts: number[];
}

export interface ProxyFinding {
  index: number;
  message: string;
  file: string;
}

export interface ProxyFuzzReport {
  seed: number;
  seconds: number;
  inputs: number;
  outcomes: Record<string, number>;
  findings: ProxyFinding[];
}

export const FRAME_PAYLOAD = Buffer.from('frame after the header');
export const FRAME = encodeFrame({ sourceId: 'fuzz', destId: 'proxy', payload: FRAME_PAYLOAD });

function header(r: Rand): Buffer {
  const ip4 = () => r.bytes(4).join('.');
  const port = () => r.int(0, 65535);
  return r.weighted<() => Buffer>([
    [3, () => encodeV1({ protocol: 'TCP4', source: ip4(), destination: ip4(), sourcePort: port(), destinationPort: port() })],
    [3, () => encodeV1({ protocol: 'TCP6', source: ipv6Full(r.bytes(16), r.chance(0.2)), destination: ipv6Full(r.bytes(16)), sourcePort: port(), destinationPort: port() })],
    [1, () => encodeV1({ protocol: 'UNKNOWN' })],
    [3, () => encodeV2({ command: 1, family: 1, source: r.bytes(4), destination: r.bytes(4), sourcePort: port(), destinationPort: port(), tlvs: r.bytes(r.weighted([[3, 0], [2, r.int(1, 64)], [1, r.int(65, 5000)]])) })],
    [3, () => encodeV2({ command: 1, family: 2, source: r.bytes(16), destination: r.bytes(16), sourcePort: port(), destinationPort: port(), tlvs: r.bytes(r.int(0, 40)) })],
    [1, () => encodeV2({ command: r.int(0, 1), family: r.int(0, 3), transport: r.int(0, 2), tlvs: r.bytes(r.int(0, 240)) })],
  ])();
}

const V1_FIELD_BYTES = [0x20, 0x0d, 0x0a, 0x3a, 0x2e, 0x30, 0x00, 0x7f, 0x80];

function mutate(r: Rand, s: Buffer): Buffer {
  const out = Buffer.from(s);
  return r.weighted<() => Buffer>([
    [4, () => out],
    [2, () => {
      for (let k = r.int(1, 3); k > 0; k--) out[r.int(0, out.length - 1)] ^= 1 << r.int(0, 7);
      return out;
    }],
    [2, () => {
      out[r.int(0, Math.min(out.length, 120) - 1)] = r.pick(V1_FIELD_BYTES);
      return out;
    }],
    // The v2 length field (bytes 14-15), near the bound and past the data.
    [2, () => {
      if (out.length >= 16) out.writeUInt16BE(r.weighted([[1, r.int(0, 0xffff)], [2, Math.max(0, out.length - 16 + r.int(-4, 4))]]), 14);
      return out;
    }],
    [1, () => out.subarray(0, r.int(0, out.length))],
    [1, () => {
      const at = r.int(0, out.length);
      return Buffer.concat([out.subarray(0, at), r.bytes(r.int(1, 120)), out.subarray(at)]);
    }],
  ])();
}

export function makeProxyCase(runSeed: number, index: number): ProxyCase {
  const r = new Rand(inputSeed(runSeed, index));
  const bytes = Buffer.concat([mutate(r, header(r)), FRAME]);
  const cuts: number[] = [];
  for (let at = 0; at < bytes.length; ) {
    at += r.weighted([[4, r.int(1, 8)], [2, r.int(9, 120)], [1, bytes.length]]);
    cuts.push(Math.min(at, bytes.length));
  }
  return {
    bytes,
    mode: r.pick<ProxyMode>(['v1', 'v2', 'any', 'any']),
    maxBytes: r.weighted([[4, V2_DEFAULT_MAX_BYTES], [1, 16 + 12], [1, 16 + 36], [1, 16 + r.int(0, 400)]]),
    cuts,
  };
}

function verdictOf(p: ProxyHeaderParser): ModelVerdict {
  if (p.status === ProxyStatus.MORE) return { status: 'more' };
  if (p.status === ProxyStatus.ERROR) return { status: 'error', reason: p.error ?? 'null' };
  return {
    status: 'done',
    headerLength: p.headerLength,
    kind: p.kind,
    family: p.family,
    source: p.sourceAddress,
    sourcePort: p.sourcePort,
    destination: p.destinationAddress,
    destinationPort: p.destinationPort,
  };
}

/** Null when the parser agreed with the model after every read; else what differed. */
export function runProxyCase(c: ProxyCase): string | null {
  const p = new ProxyHeaderParser(c.mode, c.maxBytes);
  const before = Buffer.from(c.bytes);
  for (const cut of c.cuts) {
    let got: ModelVerdict;
    try {
      p.parse(c.bytes, 0, cut);
      got = verdictOf(p);
    } catch (err) {
      return `parse threw at ${cut} bytes: ${(err as Error).message}`;
    }
    const want = judgeProxy(c.bytes.subarray(0, cut), c.mode, c.maxBytes);
    if (JSON.stringify(got) !== JSON.stringify(want)) return `after ${cut} bytes: parser ${JSON.stringify(got)}, model ${JSON.stringify(want)}`;
    if (p.status === ProxyStatus.MORE && (p.need <= cut || p.need > Math.max(c.maxBytes, 107))) return `need ${p.need} after ${cut} bytes`;
    if (p.status !== ProxyStatus.MORE) break;
  }
  if (!c.bytes.equals(before)) return 'the parser changed its input';
  return null;
}

export function runProxyFuzz(opts: { seed: number; seconds: number; maxFindings?: number }): ProxyFuzzReport {
  const started = performance.now();
  const deadline = started + opts.seconds * 1000;
  const outcomes: Record<string, number> = {};
  const findings: ProxyFinding[] = [];
  let index = 0;
  for (; performance.now() < deadline && findings.length < (opts.maxFindings ?? 5); index++) {
    const c = makeProxyCase(opts.seed, index);
    const message = runProxyCase(c);
    if (message !== null) {
      const file = path.join(os.tmpdir(), `pkt-fuzz-proxy-${opts.seed}-${index}.bin`);
      fs.writeFileSync(file, c.bytes);
      findings.push({ index, message: `${message} (mode ${c.mode}, maxBytes ${c.maxBytes}, cuts ${c.cuts.join(',')})`, file });
      continue;
    }
    const whole = judgeProxy(c.bytes, c.mode, c.maxBytes);
    const key = whole.status === 'error' ? whole.reason : whole.status === 'done' ? `done_${whole.kind}` : 'more';
    outcomes[key] = (outcomes[key] ?? 0) + 1;
  }
  return { seed: opts.seed, seconds: (performance.now() - started) / 1000, inputs: index, outcomes, findings };
}
