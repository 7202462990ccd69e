import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { si, startProgress } from '../../src/cli/progress.js';

function stream(isTTY: boolean) {
  const s = Object.assign(new PassThrough(), { isTTY, columns: 40 }) as unknown as NodeJS.WriteStream;
  let text = '';
  (s as unknown as PassThrough).setEncoding('utf8').on('data', (d: string) => (text += d));
  return { s, text: () => text };
}

describe('startProgress', () => {
  it('on a terminal: rewrites one line, cut to the width, and clears it on stop', async () => {
    const { s, text } = stream(true);
    let n = 0;
    const p = startProgress(() => `step ${++n} ${'x'.repeat(100)}`, { stream: s, intervalMs: 5 });
    expect(p.active).toBe(true);
    p.refresh();
    await new Promise((r) => setTimeout(r, 30));
    p.stop();
    p.stop();
    const out = text();
    expect(out.startsWith('\r\x1b[2Kstep 1 ')).toBe(true);
    expect(out.split('\r\x1b[2K').filter(Boolean).every((l) => l.length <= 39)).toBe(true);
    expect(out.endsWith('\r\x1b[2K')).toBe(true);
    expect(n).toBeGreaterThan(1); // the timer rendered too
  });

  it('off a terminal: silent, and never renders', async () => {
    const { s, text } = stream(false);
    let calls = 0;
    const p = startProgress(() => `${++calls}`, { stream: s, intervalMs: 1 });
    p.refresh();
    await new Promise((r) => setTimeout(r, 20));
    p.stop();
    expect(p.active).toBe(false);
    expect(calls).toBe(0);
    expect(text()).toBe('');
  });
});

describe('si', () => {
  it('scales counts and rates', () => {
    expect([si(512), si(1234), si(1_234_567), si(2.5e9)]).toEqual(['512', '1.23k', '1.23M', '2.50G']);
  });
});
