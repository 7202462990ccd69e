import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { PacketView } from '../../src/frame/packet-view.js';
import type { OwnedPacket } from '../../src/handlers/types.js';
import { RingPool } from '../../src/ring/pool.js';
import type { Ring } from '../../src/ring/ring.js';
import { encodeFrame } from '../../src/wire/encode.js';
import { BAD_LIMITS, ID_REST, badCases } from '../helpers/bad-frames.js';
import { pick, prng, seededBytes } from '../helpers/bytes.js';
import {
  CLOSE,
  DROP,
  FEED_MODES,
  LIMITS,
  RESYNC,
  deferred,
  feedChunksSync,
  feedInCuts,
  flush,
  makeReader,
  type Deferred,
  type FeedMode,
  type Harness,
} from '../helpers/feed.js';
import {
  encodeStream,
  expectPacket,
  frameArb,
  framesArb,
  rawFrame,
  smallSpec,
  type EncodedStream,
  type FrameSpec,
} from '../helpers/frames.js';

/** Chunk sizes a socket might deliver: single bytes, small, medium, larger than any ring. */
const chunkSizesArb = fc.array(
  fc.oneof(
    fc.constant(1),
    fc.integer({ min: 1, max: 40 }),
    fc.integer({ min: 41, max: 5000 }),
    fc.integer({ min: 5001, max: 100_000 }),
  ),
  { minLength: 1, maxLength: 8 },
);

/** The reader's ring, for tests that check the layout they meant to produce. */
function ringOf(h: Harness): Ring | null {
  return h.reader['ring'];
}

/** Every frame delivered as specified; nothing reported; nothing left owned. */
function expectCleanEnd(h: Harness, count: number): void {
  h.reader.end();
  expect(h.collector.errors).toEqual([]);
  expect(h.collector.frames).toBe(count);
  expect(h.stats.ringBytes).toBe(0);
  expect(h.reader.bytesOwned).toBe(0);
  expect(h.reader.idle).toBe(true);
  h.reader.releaseRing();
  expect(h.pool.inUse).toBe(0);
}

function checkEachFrame(h: Harness, specs: readonly FrameSpec[], s: EncodedStream): void {
  h.collector.onFrameHook = (view, i) => expectPacket(view, specs[i], s.frames[i], s.offsets[i]);
}

describe('FrameReader with valid streams', () => {
  it('delivers every frame byte-exact, in order, at its offset, for any cuts, ring size and feed path', async () => {
    await fc.assert(
      fc.asyncProperty(
        framesArb(),
        fc.constantFrom(4096, 8192, 65_536, 262_144),
        chunkSizesArb,
        fc.constantFrom(...FEED_MODES),
        async (specs, ringBytes, sizes, mode) => {
          const s = encodeStream(specs);
          const h = makeReader(ringBytes);
          checkEachFrame(h, specs, s);
          await feedInCuts(h.reader, s.bytes, sizes, { mode });
          expectCleanEnd(h, specs.length);
        },
      ),
      { numRuns: 250 },
    );
  });

  it('gathers frames larger than the ring in their own buffer and goes on in the ring after them', async () => {
    const big = frameArb(fc.integer({ min: 8193, max: 70_000 }));
    const small = framesArb({ maxFrames: 4, maxPayload: 3000 });
    await fc.assert(
      fc.asyncProperty(
        small,
        big,
        small,
        fc.constantFrom(4096, 8192),
        chunkSizesArb,
        fc.constantFrom(...FEED_MODES),
        async (before, large, after, ringBytes, sizes, mode) => {
          const specs = [...before, large, ...after];
          const s = encodeStream(specs);
          const h = makeReader(ringBytes);
          checkEachFrame(h, specs, s);
          await feedInCuts(h.reader, s.bytes, sizes, { mode });
          expectCleanEnd(h, specs.length);
        },
      ),
      { numRuns: 80 },
    );
  });

  it('delivers a frame exactly as large as the ring through the ring, and one a byte larger through its own buffer', async () => {
    for (const extra of [0, 1]) {
      const header = encodeFrame({ ...smallSpec(1), payload: Buffer.alloc(0) }).length;
      const specs = [smallSpec(0), { ...smallSpec(1), payload: seededBytes(4096 + extra - header, 9) }, smallSpec(2)];
      const s = encodeStream(specs);
      expect(s.frames[1].length).toBe(4096 + extra);
      const probe = makeReader(4096);
      probe.reader.write(s.bytes.subarray(0, s.offsets[1] + 24));
      probe.reader.reserveRead(); // the region for the next read: the frame's own buffer if it needs one
      expect(probe.reader.gatheringOversize, 'gathered in its own buffer').toBe(extra === 1);
      for (const mode of FEED_MODES) {
        for (const sizes of [[1000], [4096], [1, 4095, 2]]) {
          const h = makeReader(4096);
          checkEachFrame(h, specs, s);
          await feedInCuts(h.reader, s.bytes, sizes, { mode });
          expectCleanEnd(h, specs.length);
        }
      }
    }
  });

  it('keeps its ring while bytes are in flight and gives it back to the pool once idle', () => {
    const s = encodeStream([smallSpec(0), smallSpec(1)]);
    const h = makeReader(4096);
    expect(h.reader.idle).toBe(true);
    h.reader.write(s.bytes.subarray(0, s.offsets[1] + 5));
    expect(h.reader.idle).toBe(false);
    expect(h.reader.bytesOwned).toBe(5);
    expect(h.reader.fill).toBeCloseTo(5 / 4096);
    h.reader.releaseRing();
    expect(h.pool.inUse).toBe(1);
    h.reader.write(s.bytes.subarray(s.offsets[1] + 5));
    expect(h.reader.idle).toBe(true);
    h.reader.releaseRing();
    expect(h.pool.inUse).toBe(0);
    expect(h.reader.fill).toBe(0);
    // A later read takes a ring again and goes on at the right offset.
    const next = encodeFrame(smallSpec(2));
    h.collector.onFrameHook = (view) => expectPacket(view, smallSpec(2), next, s.bytes.length);
    h.reader.write(next);
    expect(h.collector.frames).toBe(3);
  });

  describe('cut at every offset', () => {
    const specs: FrameSpec[] = [
      { sourceId: 'é🚀', destId: 'b', payload: Buffer.from([1, 2, 3, 4, 5]), timestamp: 2n ** 63n + 5n, flags: 0xff, extensions: [{ type: 0x90, value: Buffer.from([7, 8]) }] },
      {
        sourceId: '',
        destId: '日本',
        payload: seededBytes(40, 1),
        timestamp: 1n,
        flags: 0x10,
        extensions: [
          { type: 5, value: Buffer.alloc(0) },
          { type: 1, value: Buffer.from([3]) },
        ],
      },
      { sourceId: 'é🚀', destId: 'b', payload: Buffer.alloc(0), timestamp: 0n, flags: 0, extensions: [] },
    ];
    const s = encodeStream(specs);
    const total = s.bytes.length;

    /** Runs one cut plan; returns a description of the first difference, or null. */
    function run(pool: RingPool, cuts: number[], mode: FeedMode): string | null {
      const h = makeReader(pool.ringBytes, { pool });
      let bad: string | null = null;
      h.collector.onFrameHook = (view, i) => {
        if (bad !== null) return;
        if (!view.frame.equals(s.frames[i]) || view.offset !== s.offsets[i]) bad = `frame ${i} bytes or offset`;
        else if (view.sourceId !== specs[i].sourceId || view.destId !== specs[i].destId) bad = `frame ${i} ids`;
        else if (view.timestampBigInt !== specs[i].timestamp || [...view.extensions()].length !== specs[i].extensions.length) bad = `frame ${i} fields`;
      };
      const points = [0, ...cuts, total];
      const chunks = points.slice(1).map((end, k) => s.bytes.subarray(points[k], end));
      feedChunksSync(h.reader, chunks, mode);
      h.reader.end();
      if (bad === null && h.collector.frames !== specs.length) bad = `${h.collector.frames} frames`;
      if (bad === null && h.collector.errors.length > 0) bad = `error ${h.collector.errors[0].reason}`;
      if (bad === null && h.stats.ringBytes !== 0) bad = `ringBytes ${h.stats.ringBytes}`;
      h.reader.releaseRing();
      return bad === null ? null : `${bad} (ring ${pool.ringBytes}, ${mode}, cuts ${cuts.join(',')})`;
    }

    // Ring 64 is smaller than the second frame (79 bytes): the oversize path runs at every cut too.
    const pools = [new RingPool(4096), new RingPool(64)];

    it('delivers the same frames whichever single offset the stream is cut at', () => {
      expect(s.frames[1].length).toBeGreaterThan(64);
      const failures: string[] = [];
      for (const pool of pools) {
        for (const mode of FEED_MODES) {
          for (let a = 1; a < total; a++) {
            const f = run(pool, [a], mode);
            if (f !== null) failures.push(f);
          }
        }
      }
      expect(failures).toEqual([]);
    });

    it('delivers the same frames whichever two offsets the stream is cut at', () => {
      const failures: string[] = [];
      for (const pool of pools) {
        for (const mode of FEED_MODES) {
          for (let a = 1; a < total; a++) {
            for (let b = a + 1; b < total; b++) {
              const f = run(pool, [a, b], mode);
              if (f !== null && failures.length < 10) failures.push(f);
            }
          }
        }
      }
      expect(failures).toEqual([]);
    });
  });

  it('takes a whole chunk larger than the ring in one write() when nothing is held', () => {
    // The 'data' path: write() returns fewer bytes only "when the ring is full", and the
    // caller offers the rest after onRoom. Here nothing is held, so nothing may be refused.
    const specs = Array.from({ length: 100 }, (_, i) => smallSpec(i, 100));
    const s = encodeStream(specs);
    const h = makeReader(4096);
    checkEachFrame(h, specs, s);
    const taken = h.reader.write(s.bytes);
    const roomed = h.roomCalls();
    expect({ taken, roomed }).toEqual({ taken: s.bytes.length, roomed: 0 });
    expectCleanEnd(h, specs.length);
  });
});

describe('FrameReader with holds', () => {
  interface Held {
    view: PacketView;
    copy: OwnedPacket;
    index: number;
    d: Deferred;
  }

  /** The held view still shows its own frame, byte for byte, then its promise settles. */
  function settle(held: Held, s: EncodedStream, specs: readonly FrameSpec[]): void {
    expect(held.view.frame.equals(held.copy.frame), `held frame ${held.index} intact`).toBe(true);
    expectPacket(held.view, specs[held.index], s.frames[held.index], s.offsets[held.index]);
    held.d.resolve();
  }

  let roomMade = 0;
  let wrapsSeen = 0;
  // Frames mostly well under the ring, reads mostly small: many batches, so many marks,
  // so the ring fills with held bytes and frees its front first.
  const holdPayloadLengthArb = fc.oneof(
    { weight: 1, arbitrary: fc.integer({ min: 0, max: 64 }) },
    { weight: 4, arbitrary: fc.integer({ min: 100, max: 1500 }) },
    { weight: 1, arbitrary: fc.integer({ min: 1500, max: 12_000 }) },
  );
  const holdChunkSizesArb = fc.array(
    fc.oneof(fc.constant(1), fc.integer({ min: 1, max: 40 }), fc.integer({ min: 41, max: 1500 }), fc.integer({ min: 1501, max: 20_000 })),
    { minLength: 1, maxLength: 8 },
  );

  it('keeps held frames intact until their promises settle in random order, and resumes on onRoom', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(frameArb(holdPayloadLengthArb), { minLength: 1, maxLength: 40 }),
        fc.constantFrom(4096, 4096, 8192, 65_536),
        holdChunkSizesArb,
        fc.constantFrom(...FEED_MODES),
        fc.integer(),
        async (specs, ringBytes, sizes, mode, seed) => {
          const rnd = prng(seed);
          const s = encodeStream(specs);
          const h = makeReader(ringBytes);
          const open: Held[] = [];
          h.collector.onFrameHook = (view, i) => {
            expectPacket(view, specs[i], s.frames[i], s.offsets[i]);
            if (ringOf(h)?.wrapped) wrapsSeen++; // delivered from the newer segment of a wrapped ring
            if (rnd() % 4 === 0) return; // a synchronous handler
            const d = deferred();
            h.reader.hold(d.promise, i % 3);
            h.reader.decoder.detachView(); // as the pipeline does for a handler that returned a promise
            open.push({ view, copy: view.copy(), index: i, d });
          };
          const settleOne = (): boolean => {
            if (open.length === 0) return false;
            // Random order, biased to the oldest so that the front of the ring frees first and it wraps.
            settle(open.splice(rnd() % 2 === 0 ? 0 : pick(rnd, open.length), 1)[0], s, specs);
            return true;
          };
          const makeRoom = async (): Promise<boolean> => {
            const before = h.roomCalls();
            while (h.roomCalls() === before) {
              if (!settleOne()) return false;
              await flush();
            }
            roomMade++;
            return true;
          };
          const afterChunk = async (): Promise<void> => {
            if (rnd() % 6 === 0 && settleOne()) await flush();
          };
          await feedInCuts(h.reader, s.bytes, sizes, { mode, makeRoom, afterChunk });
          while (settleOne());
          await flush();
          expectCleanEnd(h, specs.length);
          expect(h.collector.holdErrors).toEqual([]);
        },
      ),
      { numRuns: 200 },
    );
    // The runs did fill rings with held bytes and wrap them.
    expect(roomMade).toBeGreaterThan(0);
    expect(wrapsSeen).toBeGreaterThan(0);
  });

  it('returns null from readBuffer once the ring is full of held bytes, and fires onRoom after their release', async () => {
    const specs = Array.from({ length: 12 }, (_, i) => smallSpec(i, 500));
    const s = encodeStream(specs);
    const h = makeReader(4096);
    const unsettled: Deferred[] = [];
    h.collector.onFrameHook = () => {
      const d = deferred();
      unsettled.push(d);
      h.reader.hold(d.promise, 0);
      h.reader.decoder.detachView();
    };
    const settleAll = async (): Promise<boolean> => {
      const some = unsettled.length > 0;
      for (const d of unsettled.splice(0)) d.resolve();
      await flush();
      return some;
    };
    let at = 0;
    let region = h.reader.reserveRead();
    while (region !== null) {
      const n = Math.min(region.length, 300, s.bytes.length - at);
      region.set(s.bytes.subarray(at, at + n));
      at += n;
      h.reader.committed(n);
      region = h.reader.reserveRead();
    }
    expect(at).toBeLessThan(s.bytes.length);
    expect(h.reader.bytesOwned).toBeGreaterThan(4096 - 600);
    expect(h.stats.ringBytes).toBe(h.reader.bytesOwned);
    expect(h.roomCalls()).toBe(0);
    expect(await settleAll()).toBe(true);
    expect(h.roomCalls()).toBe(1);
    expect(h.reader.reserveRead()).not.toBeNull();
    await feedInCuts(h.reader, s.bytes.subarray(at), [300], { mode: 'readBuffer', makeRoom: settleAll });
    await settleAll();
    expectCleanEnd(h, specs.length);
  });

  it('counts a held oversize frame in ringBytes until its hold settles', async () => {
    // IngestStats.ringBytes: "bytes currently held in connection rings (and oversize frame buffers)".
    const specs = [{ ...smallSpec(0), payload: seededBytes(20_000, 3) }];
    const s = encodeStream(specs);
    const h = makeReader(4096);
    const d = deferred();
    h.collector.onFrameHook = () => {
      h.reader.hold(d.promise, 0);
      h.reader.decoder.detachView();
    };
    await feedInCuts(h.reader, s.bytes, [5000], { mode: 'readBuffer' });
    expect(h.collector.frames).toBe(1);
    expect(h.reader.idle).toBe(false);
    expect(h.stats.ringBytes).toBeGreaterThanOrEqual(s.bytes.length);
    d.resolve();
    await flush();
    expect(h.stats.ringBytes).toBe(0);
  });

  it('releases bytes in stream order: a later hold settling first frees nothing', async () => {
    const s = encodeStream([smallSpec(0), smallSpec(1)]);
    const h = makeReader(4096);
    const holds: Deferred[] = [];
    h.collector.onFrameHook = () => {
      const d = deferred();
      holds.push(d);
      h.reader.hold(d.promise, 0);
    };
    h.reader.write(s.frames[0]);
    h.reader.write(s.frames[1]);
    expect(h.stats.ringBytes).toBe(s.bytes.length);
    holds[1].resolve();
    await flush();
    expect(h.stats.ringBytes).toBe(s.bytes.length);
    holds[0].resolve();
    await flush();
    expect(h.stats.ringBytes).toBe(0);
  });

  it('holds the whole batch on a promise returned from onBatchEnd', async () => {
    const s = encodeStream([smallSpec(0), smallSpec(1), smallSpec(2)]);
    const h = makeReader(4096);
    const d = deferred();
    h.collector.onBatchEndHook = () => h.reader.hold(d.promise, 1);
    h.reader.write(s.bytes);
    expect(h.stats.ringBytes).toBe(s.bytes.length);
    d.resolve();
    await flush();
    expect(h.stats.ringBytes).toBe(0);
  });

  it('reports a rejected hold through onHoldError with the handler index, and still releases its bytes', async () => {
    const s = encodeStream([smallSpec(0)]);
    const h = makeReader(4096);
    const d = deferred();
    h.collector.onFrameHook = () => h.reader.hold(d.promise, 2);
    h.reader.write(s.bytes);
    const boom = new Error('handler failed');
    d.reject(boom);
    await flush();
    expect(h.collector.holdErrors).toEqual([{ index: 2, error: boom }]);
    expect(h.stats.ringBytes).toBe(0);
  });

  it('keeps a closed reader\'s ring until its holds settle, then returns it to the pool', async () => {
    const s = encodeStream([smallSpec(0), smallSpec(1)]);
    const h = makeReader(4096);
    const d = deferred();
    h.collector.onFrameHook = (_view, i) => {
      if (i === 0) h.reader.hold(d.promise, 0);
    };
    h.reader.write(Buffer.concat([s.bytes, s.frames[0].subarray(0, 10)]));
    h.reader.close();
    expect(h.pool.inUse).toBe(1);
    expect(h.reader.reserveRead()).toBeNull();
    d.resolve();
    await flush();
    expect(h.pool.inUse).toBe(0);
    expect(h.stats.ringBytes).toBe(0);
  });

  it('wraps the ring around held bytes and delivers the frame cut across the wrap intact', async () => {
    // Ten 500-byte frames in a 4096 ring; batches of frames 0-2, 3-6 and 7 are held.
    const specs = Array.from({ length: 10 }, (_, i) => {
      const spec = smallSpec(i, 0);
      return { ...spec, payload: seededBytes(500 - encodeFrame(spec).length, i) };
    });
    const s = encodeStream(specs);
    expect(s.offsets).toEqual(specs.map((_, i) => i * 500));
    const h = makeReader(4096);
    const held: Array<{ view: PacketView; copy: OwnedPacket; d: Deferred }> = [];
    let holding = true;
    h.collector.onFrameHook = (view, i) => {
      expectPacket(view, specs[i], s.frames[i], s.offsets[i]);
      if (!holding) return;
      const d = deferred();
      h.reader.hold(d.promise, 0);
      h.reader.decoder.detachView();
      held.push({ view, copy: view.copy(), d });
    };
    const feed = (from: number, to: number): void => {
      const region = h.reader.reserveRead() as Buffer;
      expect(region.length).toBeGreaterThanOrEqual(to - from);
      region.set(s.bytes.subarray(from, to));
      h.reader.committed(to - from);
    };
    feed(0, 1500); // frames 0-2, held
    feed(1500, 3500); // frames 3-6, held
    feed(3500, 4000); // frame 7, held
    holding = false;
    feed(4000, 4096); // 96 bytes of frame 8 fill the ring to its end
    for (const x of held.slice(0, 3)) x.d.resolve(); // 1500 bytes free at the front
    await flush();
    feed(4096, 4800); // frame 8 moves to the front and completes there; 300 bytes of frame 9
    expect(ringOf(h)?.wrapped).toBe(true);
    expect(h.collector.frames).toBe(9);
    for (const x of held.slice(3)) {
      expect(x.view.frame.equals(x.copy.frame)).toBe(true);
      x.d.resolve();
    }
    await flush();
    expect(ringOf(h)?.wrapped).toBe(false);
    feed(4800, 5000);
    expect(h.stats.ringMoves).toBe(1);
    expect(h.stats.ringMovedBytes).toBe(96);
    expectCleanEnd(h, 10);
  });
});

describe('FrameReader with invalid streams', () => {
  const A = smallSpec(0);
  const B = smallSpec(1);
  const C = smallSpec(2);
  const policies = { close: CLOSE, resync: RESYNC, drop: DROP } as const;

  for (const c of badCases()) {
    for (const [policyName, policy] of Object.entries(policies)) {
      const framingKept = c.reason === 'crc_mismatch' && policy.onChecksumError === 'drop';
      const goesOn = framingKept || (c.reason !== 'crc_mismatch' && policy.onFrameError === 'resync');
      it(`reports ${c.reason} (${c.name}) at its offset under ${policyName}, after every valid frame before it${goesOn ? ', and goes on after it' : ', then stops'}`, async () => {
        const good = encodeStream([A, B]);
        const tail = encodeFrame(C);
        const bytes = Buffer.concat([good.bytes, c.bad, tail]);
        const badAt = good.bytes.length;
        const tailAt = badAt + c.bad.length;
        for (const mode of FEED_MODES) {
          for (const sizes of [[1_000_000], [1], [7], [badAt + 3, 5]]) {
            const h = makeReader(4096, { policy, limits: BAD_LIMITS });
            const offsets: number[] = [];
            h.collector.onFrameHook = (view) => offsets.push(view.offset);
            await feedInCuts(h.reader, bytes, sizes, { mode });
            h.reader.end();
            const where = `${mode}, cuts ${sizes.join(',')}`;
            expect(h.collector.errors[0], where).toEqual({ reason: c.reason, offset: badAt });
            if (goesOn) {
              expect(offsets, where).toEqual([0, good.offsets[1], tailAt]);
              expect(h.reader.failed).toBeNull();
              // Resync may scan the rest of the bad frame as garbage, read by read.
              for (const e of h.collector.errors.slice(1)) {
                expect(e.reason, where).toBe('bad_magic');
                expect(e.offset > badAt && e.offset < tailAt, where).toBe(true);
              }
              if (framingKept) expect(h.collector.errors).toHaveLength(1);
              expect(h.stats.ringBytes).toBe(0);
            } else {
              expect(offsets, where).toEqual([0, good.offsets[1]]);
              expect(h.collector.errors, where).toHaveLength(1);
              expect(h.reader.failed).toBe(c.reason);
              expect(h.reader.reserveRead()).toBeNull();
              expect(h.reader.write(tail)).toBe(0);
            }
            h.reader.close();
            expect(h.stats.ringBytes).toBe(0);
            expect(h.pool.inUse).toBe(0);
          }
        }
      });
    }
  }

  it('under resync, delivers the valid frames that arrive inside the claimed length of a bad frame larger than the ring', async () => {
    // The bad header claims 50,000 payload bytes; its source id is invalid UTF-8.
    // Its first 24 bytes arrive alone, so the reader starts gathering it as an oversize frame.
    const bad = rawFrame({ rest: Buffer.from([0xc0, 0x80, 0, 0x62, 0]), payloadLen: 50_000 });
    const specs = Array.from({ length: 100 }, (_, i) => smallSpec(i, 100));
    const s = encodeStream(specs);
    const bytes = Buffer.concat([bad, s.bytes]);
    for (const mode of FEED_MODES) {
      const h = makeReader(4096, { policy: RESYNC });
      const offsets: number[] = [];
      h.collector.onFrameHook = (view) => offsets.push(view.offset);
      await feedInCuts(h.reader, bytes, [24, 60_000], { mode });
      h.reader.end();
      expect(h.collector.errors[0]).toEqual({ reason: 'invalid_utf8', offset: 0 });
      expect({ mode, offsets }).toEqual({ mode, offsets: s.offsets.map((o) => o + bad.length) });
    }
  });

  it('under resync, does not drop the bytes after a bad frame larger than the ring while earlier frames are held', async () => {
    // As above, but the frames before the bad one are held, so the ring has little room
    // when the bad frame's gathered bytes must go through it again.
    const before = Array.from({ length: 20 }, (_, i) => smallSpec(i, 100));
    const after = Array.from({ length: 100 }, (_, i) => smallSpec(i + 20, 100));
    const head = encodeStream(before);
    const bad = rawFrame({ rest: Buffer.from([0xc0, 0x80, 0, 0x62, 0]), payloadLen: 50_000 });
    const tail = encodeStream(after);
    const bytes = Buffer.concat([head.bytes, bad, tail.bytes]);
    const tailAt = head.bytes.length + bad.length;
    for (const mode of FEED_MODES) {
      const h = makeReader(4096, { policy: RESYNC });
      const holds: Deferred[] = [];
      const offsets: number[] = [];
      h.collector.onFrameHook = (view) => {
        offsets.push(view.offset);
        const d = deferred();
        holds.push(d);
        h.reader.hold(d.promise, 0);
        h.reader.decoder.detachView();
      };
      const makeRoom = async (): Promise<boolean> => {
        const some = holds.length > 0;
        for (const d of holds.splice(0)) d.resolve();
        await flush();
        return some;
      };
      await feedInCuts(h.reader, bytes, [head.bytes.length, 24, 60_000], { mode, makeRoom });
      while (await makeRoom()); // settle until no new frame arrives
      h.reader.end();
      expect(h.collector.errors[0]).toEqual({ reason: 'invalid_utf8', offset: head.bytes.length });
      expect({ mode, offsets }).toEqual({ mode, offsets: [...head.offsets, ...tail.offsets.map((o) => o + tailAt)] });
    }
  });

  it('rejects a 4 GiB payload_len as frame_too_large from 12 bytes, without growing ringBytes', async () => {
    const head = rawFrame({ rest: ID_REST, payloadLen: 0xffffffff });
    const junk = Buffer.alloc(1 << 20, 0x11);
    for (const mode of FEED_MODES) {
      const h = makeReader(4096, { policy: CLOSE, limits: LIMITS });
      await feedInCuts(h.reader, head.subarray(0, 12), [1], { mode });
      expect(h.collector.errors).toEqual([{ reason: 'frame_too_large', offset: 0 }]);
      expect(h.reader.failed).toBe('frame_too_large');
      expect(h.stats.ringBytes).toBeLessThanOrEqual(12);
      expect(h.reader.bytesOwned).toBeLessThanOrEqual(12);

      // Under resync the junk that follows is skipped read by read; the ring never fills.
      const r = makeReader(4096, { policy: RESYNC, limits: LIMITS });
      let most = 0;
      await feedInCuts(r.reader, Buffer.concat([head, junk]), [65_536], {
        mode,
        afterChunk: () => {
          most = Math.max(most, r.stats.ringBytes);
        },
      });
      expect(r.collector.errors[0]).toEqual({ reason: 'frame_too_large', offset: 0 });
      expect(most).toBeLessThanOrEqual(4096);
      expect(r.stats.ringBytes).toBe(0);
      expect(r.reader.decoder.offset).toBe(head.length + junk.length);
    }
  });

  it('reports truncated at the partial frame offset when the stream ends inside a frame, wherever that is', async () => {
    const s = encodeStream([A, B]);
    for (let cut = s.offsets[1] + 1; cut < s.bytes.length; cut++) {
      const h = makeReader(4096);
      await feedInCuts(h.reader, s.bytes.subarray(0, cut), [cut], { mode: 'readBuffer' });
      h.reader.end();
      expect(h.collector.frames).toBe(1);
      expect(h.collector.errors).toEqual([{ reason: 'truncated', offset: s.offsets[1] }]);
    }
  });

  it('reports truncated for a partial frame larger than the ring', async () => {
    const s = encodeStream([A, { ...B, payload: seededBytes(20_000, 5) }]);
    for (const mode of FEED_MODES) {
      const h = makeReader(4096);
      await feedInCuts(h.reader, s.bytes.subarray(0, s.offsets[1] + 10_000), [3000], { mode });
      h.reader.end();
      expect(h.collector.errors).toEqual([{ reason: 'truncated', offset: s.offsets[1] }]);
    }
  });

  it('reports nothing when the stream ends at a frame boundary, or before any byte', async () => {
    const s = encodeStream([A, B, C]);
    for (const cut of [0, ...s.offsets.slice(1), s.bytes.length]) {
      const h = makeReader(4096);
      await feedInCuts(h.reader, s.bytes.subarray(0, cut), [17], { mode: 'write' });
      h.reader.end();
      expect(h.collector.errors).toEqual([]);
      expect(h.stats.ringBytes).toBe(0);
    }
  });

  it('never throws on random bytes under resync, and owns nothing once closed', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.uint8Array({ maxLength: 3000 }).map((a) => Buffer.from(a)),
          fc.tuple(framesArb({ maxFrames: 6, maxPayload: 6000 }), fc.array(fc.tuple(fc.nat(), fc.nat(255)), { maxLength: 6 })).map(([specs, edits]) => {
            const b = encodeStream(specs).bytes;
            for (const [at, v] of edits) b[at % b.length] = v;
            return b;
          }),
        ),
        chunkSizesArb,
        fc.constantFrom(...FEED_MODES),
        async (bytes, sizes, mode) => {
          const h = makeReader(4096, { policy: RESYNC });
          await feedInCuts(h.reader, bytes, sizes, { mode });
          h.reader.end();
          expect(h.reader.failed).toBeNull();
          for (const e of h.collector.errors) expect(e.offset).toBeLessThan(bytes.length);
          h.reader.close();
          expect(h.stats.ringBytes).toBe(0);
          expect(h.pool.inUse).toBe(0);
        },
      ),
      { numRuns: 150 },
    );
  });
});
