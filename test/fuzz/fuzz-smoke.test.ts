/**
 * The fuzz harness in CI: its reference model checked against docs/protocol.md's
 * vector and the curated bad frames, then a short seeded run (about 3 s)
 * that must end with no findings. A longer run: `npm run fuzz -- --seconds N`.
 */
import { describe, expect, it } from 'vitest';
import { judgeFrameAt, modelDecode } from '../../fuzz/lib/model.js';
import { runReaderCase } from '../../fuzz/lib/reader-driver.js';
import { runFuzz } from '../../fuzz/lib/run-fuzz.js';
import { encodeFrame } from '../../src/wire/encode.js';
import { BAD_LIMITS, badCases } from '../helpers/bad-frames.js';

/** docs/protocol.md's reference vector. */
const REFERENCE = Buffer.from('504b5400 01001c00 05000000 86a61036 00401e18 240a0600 61006200 68656c6c 6f'.replaceAll(' ', ''), 'hex');
const LIMITS = { maxPayloadBytes: 1 << 20, maxHeaderBytes: 4096 };
const RESYNC = { onFrameError: 'resync', onChecksumError: 'drop' } as const;

describe('the reference model', () => {
  it('decodes the docs/protocol.md reference vector', () => {
    expect(modelDecode(REFERENCE, LIMITS, RESYNC)).toEqual({
      frames: [{ offset: 0, length: 33, sourceId: 'a', destId: 'b' }],
      errors: [],
    });
  });

  it('names each curated bad frame with its reason, and only once its deciding byte is there', () => {
    for (const c of badCases()) {
      expect(judgeFrameAt(c.bad, 0, BAD_LIMITS), c.name).toMatchObject({ ok: false, reason: c.reason });
      expect(judgeFrameAt(c.bad.subarray(0, c.detectAt - 1), 0, BAD_LIMITS), `${c.name}, one byte short`).toMatchObject({
        ok: false,
        reason: 'truncated',
      });
    }
  });

  it('resyncs one byte after a failed frame start and counts that start once', () => {
    const good = encodeFrame({ sourceId: 's', destId: 'd', payload: Buffer.from('x') });
    const stream = Buffer.concat([Buffer.from('garbage, no magic'), good, Buffer.from('P'), good]);
    expect(modelDecode(stream, LIMITS, RESYNC).errors).toEqual([
      { reason: 'bad_magic', offset: 0, resumedAt: 17 },
      { reason: 'bad_magic', offset: 17 + good.length, resumedAt: 18 + good.length },
    ]);
    expect(modelDecode(stream, LIMITS, RESYNC).frames.map((f) => f.offset)).toEqual([17, 18 + good.length]);
  });
});

describe('past findings, replayed', () => {
  it('counts a bad magic right after a dropped crc_mismatch frame while resyncing (skipFrame left the scan on)', async () => {
    const dropped = encodeFrame({ sourceId: 's', destId: 'd', payload: Buffer.from('payload'), checksum: 1 });
    const bytes = Buffer.concat([Buffer.from('X'), dropped, Buffer.from('Y')]);
    for (const mode of ['readBuffer', 'write'] as const) {
      const r = await runReaderCase({ seed: 1, bytes, ringBytes: 4096, limits: LIMITS, policy: RESYNC, mode, cuts: [bytes.length], holdRate: 0, mutations: [] });
      expect(r.finding).toBeNull();
      expect(r.observed.errors.map((e) => e.reason)).toEqual(['bad_magic', 'crc_mismatch', 'bad_magic']);
    }
  });
});

describe('fuzz harness', () => {
  it('runs a seeded 3 s budget in-process and live with no findings', async () => {
    const report = await runFuzz({ seed: 20_261_121, seconds: 3, liveEvery: 10, shrinkMs: 3000, maxFindings: 3 });
    const findings = report.findings.map((f) => `${f.kind} (${f.target}) at input ${f.index}: ${f.message} [${f.saved.json}]`);
    expect(findings).toEqual([]);
    expect(report.inputs).toBeGreaterThan(20);
    expect(report.liveInputs).toBeGreaterThan(0);
    expect(report.frames).toBeGreaterThan(0);
  }, 60_000);
});
