/**
 * docs/protocol.md's inline Python frame() example runs and asserts the
 * reference vector, so the doc's shortest producer stays right.
 * Needs python3 (skipped where it is missing, except in CI).
 */
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { runPython, skipWithoutPython } from '../helpers/python.js';

const doc = fs.readFileSync(new URL('../../docs/protocol.md', import.meta.url), 'utf8');

describe.skipIf(skipWithoutPython)('docs/protocol.md Python example', () => {
  it('runs, and its assertion is live', async () => {
    const code = /```python\n([\s\S]*?)```/.exec(doc)?.[1];
    expect(code, 'a ```python block in docs/protocol.md').toBeDefined();
    const ok = await runPython(['-c', code!]);
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    // The same code with the checksum computed over the whole frame instead of the payload must fail.
    const broken = await runPython(['-c', code!.replace('zlib.crc32(payload)', 'zlib.crc32(ids + payload)')]);
    expect(broken.code).toBe(1);
    expect(broken.stderr).toContain('AssertionError');
  });
});
