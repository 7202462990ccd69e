import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { HandlerConfig } from '../../src/config/schema.js';
import { HandlerModuleError } from '../../src/errors.js';
import { COMMIT_TRACKER, CommitTracker, type TrackedConnection } from '../../src/handlers/commit-tracker.js';
import { createHandlers, type NamedHandler } from '../../src/handlers/create-handlers.js';
import type { ConnectionInfo, HandlerContext } from '../../src/handlers/types.js';

let dir: string;
let built: NamedHandler[] = [];
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'pkt-handlers-'));
});
afterEach(async () => {
  await Promise.all(built.map(({ handler }) => handler.close?.()));
  built = [];
  rmSync(dir, { recursive: true, force: true });
});

const capture = (name: string, path: string): HandlerConfig => ({
  type: 'capture', name, path, fsync: 'never', fsyncIntervalMs: 1000, rotateBytes: 1 << 20, keepFiles: 1,
});

describe('createHandlers', () => {
  it('builds each handler by type, in order, with its name and a child logger', async () => {
    const lines: Array<Record<string, unknown>> = [];
    const log = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line)) });
    writeFileSync(join(dir, 'h.mjs'), 'export default (o, context) => { context.log.info("made"); return { onPacket() {} }; };');
    built = await createHandlers(
      [
        capture('cap', join(dir, 'cap.pkt')),
        { type: 'log', name: 'log', level: 'info' },
        { type: 'module', name: 'mine', path: join(dir, 'h.mjs'), options: {} },
      ],
      log,
    );
    expect(built.map((b) => b.name)).toEqual(['cap', 'log', 'mine']);
    expect(lines).toContainEqual(expect.objectContaining({ handler: 'mine', msg: 'made' }));
  });

  it('closes what it built when a later handler fails', async () => {
    writeFileSync(join(dir, 'bad.mjs'), 'export default 42;');
    const path = join(dir, 'cap.pkt');
    const failing = createHandlers(
      [capture('cap', path), { type: 'module', name: 'bad', path: join(dir, 'bad.mjs'), options: {} }],
      pino({ level: 'silent' }),
    );
    await expect(failing).rejects.toBeInstanceOf(HandlerModuleError);
    // The capture file was closed: its path can be opened again.
    built = await createHandlers([capture('cap', path)], pino({ level: 'silent' }));
    expect(built).toHaveLength(1);
  });
});

describe('createHandlers: the commit API', () => {
  it("routes context.commit and failCommit to the connection's tracker at the handler's index", async () => {
    // A module that exposes its context, declared deferred: it commits through the API.
    writeFileSync(
      join(dir, 'deferred.mjs'),
      'export default (o, context) => ({ commitMode: "deferred", context, onPacket() {} });',
    );
    const errors: [string, unknown][] = [];
    built = await createHandlers(
      [
        { type: 'log', name: 'log', level: 'info' },
        { type: 'module', name: 'late', path: join(dir, 'deferred.mjs'), options: {} },
      ],
      pino({ level: 'silent' }),
      (name, error) => errors.push([name, error]),
    );
    const late = built[1].handler as unknown as { commitMode: string; context: HandlerContext };
    expect(late.commitMode).toBe('deferred');
    const counts: number[] = [];
    const failures: number[] = [];
    const tracker = new CommitTracker(['settle', 'deferred'], {
      onCommitted: (count) => counts.push(count),
      onCommitFailed: (h) => failures.push(h),
    });
    const connection = { id: 7, [COMMIT_TRACKER]: tracker } as TrackedConnection;
    tracker.accept(5);
    tracker.settle(0, 5);
    late.context.commit(connection, 3);
    expect(counts).toEqual([3]);
    const error = new Error('downstream gave up');
    late.context.failCommit(connection, error);
    expect(failures).toEqual([1]);
    expect(errors).toEqual([['late', error]]);
    // A plain connection has no tracker: commit is a no-op, failCommit still counts the error.
    const plain = { id: 8 } as ConnectionInfo;
    late.context.commit(plain, 1);
    late.context.failCommit(plain, error);
    expect(errors).toHaveLength(2);
  });
});
