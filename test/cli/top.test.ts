/**
 * `top` in a real pseudo-terminal: tmux (needs the tmux binary; skipped
 * without it outside CI, a failure in CI) runs the command, capture-pane
 * reads the screen, send-keys presses q.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Producer } from '../../src/producer/producer.js';
import { CLI, TSX } from '../helpers/child-server.js';
import { startServer, until, type LiveServer } from '../helpers/live-server.js';

const hasTmux = spawnSync('tmux', ['-V']).status === 0;
if (!hasTmux && process.env.CI) throw new Error('tmux is required in CI for the top test');

const session = `pkt-top-${process.pid}`;
const tmux = (...args: string[]): string => execFileSync('tmux', ['-L', session, ...args], { encoding: 'utf8' });
const screen = (): string => tmux('capture-pane', '-p', '-t', session);

describe.skipIf(!hasTmux)('top in a terminal', () => {
  let live: LiveServer;
  let producer: Producer;
  let sending: NodeJS.Timeout;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pkt-top-'));
  const exitFile = path.join(dir, 'exit');

  beforeAll(async () => {
    live = await startServer();
    producer = new Producer({ host: '127.0.0.1', port: live.tcpPort });
    await producer.connect();
    let i = 0;
    sending = setInterval(() => {
      for (let k = 0; k < 200; k++) producer.send({ sourceId: 'top-test', destId: 'd', timestamp: Date.now() * 1000, payload: Buffer.alloc(64, i++) });
    }, 20);
  });

  afterAll(async () => {
    clearInterval(sending);
    spawnSync('tmux', ['-L', session, 'kill-server']);
    await producer.close().catch(() => {});
    await live.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('shows live numbers, redraws in place, and quits on q with exit 0', async () => {
    const command = `${process.execPath} --import ${TSX} ${CLI} top --url http://127.0.0.1:${live.httpPort}; echo $? > ${exitFile}`;
    tmux('new-session', '-d', '-s', session, '-x', '120', '-y', '40', command);
    const packetsLine = (): string => screen().split('\n').find((l) => l.startsWith('packets/s')) ?? '';
    await until(() => /packets\/s\s+[1-9]/.test(packetsLine()), 30_000, 'a non-zero packets/s on the screen');
    const first = screen();
    expect(first).toMatch(/^pkt-ingest top {2}http:\/\/127\.0\.0\.1:\d+ {2}up \S+ {2}ready/m);
    expect(first).toMatch(/connections +1 open/);
    expect(first).toMatch(/frame errors/);
    expect(first).toMatch(/lag +last \d/);
    // The history grows one bar per second: wait for the second (an idle machine shows the first screen after one).
    await until(() => /[▁▂▃▄▅▆▇█]{2,}/.test(packetsLine()), 10_000, 'two seconds of history bars');
    // In place: the header stays on the first line while the numbers change.
    const totalOf = (s: string): string => /total (\S+ ?\S*)/.exec(s)?.[1] ?? '';
    await until(() => totalOf(screen()) !== totalOf(first), 10_000, 'the screen to refresh');
    expect(screen().split('\n')[0]).toMatch(/^pkt-ingest top/);

    tmux('send-keys', '-t', session, 'q');
    await until(() => fs.existsSync(exitFile) && fs.readFileSync(exitFile, 'utf8').trim() !== '', 10_000, 'top to exit');
    expect(fs.readFileSync(exitFile, 'utf8').trim()).toBe('0');
  });
});
