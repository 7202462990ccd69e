import { describe, expect, it } from 'vitest';
import { encodeFrame } from '../../src/wire/encode.js';
import { FEED_MODES, RESYNC, feedChunksSync, makeReader } from '../helpers/feed.js';

// docs/protocol.md, Validation: under resync, one error is counted per frame start
// that fails. Garbage scanned past while looking for the next magic is not
// a frame start, however the reads cut it.

const good = (tag: string) => encodeFrame({ sourceId: 's', destId: 'd', payload: Buffer.from(tag) });

function cutsOf(bytes: Buffer, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += size) out.push(bytes.subarray(i, i + size));
  return out;
}

describe.each(FEED_MODES)('resync error counting (%s)', (mode) => {
  for (const size of [1, 2, 3, 5, 7, 64]) {
    it(`counts one bad_magic for a run of garbage read ${size} bytes at a time`, () => {
      const garbage = Buffer.from('no magic here, P, PK and PKT do not count: '.repeat(3));
      const stream = Buffer.concat([good('a'), garbage, good('b')]);
      const { reader, collector } = makeReader(4096, { policy: RESYNC });
      feedChunksSync(reader, cutsOf(stream, size), mode);
      reader.end();
      expect(collector.errors).toEqual([{ reason: 'bad_magic', offset: good('a').length }]);
      expect(collector.frames).toBe(2);
    });
  }

  it('counts a second error for a full magic that then fails, and resumes one byte after it', () => {
    const bad = good('x');
    bad[4] = 7; // unsupported_version
    const stream = Buffer.concat([good('a'), Buffer.from('junk'), bad, good('b')]);
    const { reader, collector } = makeReader(4096, { policy: RESYNC });
    feedChunksSync(reader, cutsOf(stream, 3), mode);
    const a = good('a').length;
    expect(collector.errors).toEqual([
      { reason: 'bad_magic', offset: a },
      { reason: 'unsupported_version', offset: a + 4 },
    ]);
    expect(collector.frames).toBe(2);
  });
});
