/**
 * Descriptors (src/socket/fd-limit.ts): the limit read from /proc, the cap
 * that keeps FD_RESERVE free, the start-up warning, failed accepts counted,
 * and a server under `prlimit --nofile=256` flooded with more connections
 * than fit: /healthz answers throughout, the excess is refused as fd_limit.
 * Needs prlimit (util-linux) and Linux /proc: skipped with one line when
 * missing outside CI, a failure under CI=true.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { FD_RESERVE, isOutOfDescriptors, parseFdLimit, planFds, recount } from '../../src/socket/fd-limit.js';
import { encodeFrame } from '../../src/wire/encode.js';
import { startChild, type ChildServer } from '../helpers/child-server.js';
import { startServer, type LiveServer } from '../helpers/live-server.js';

describe('the descriptor plan', () => {
  it('reads the soft limit of /proc/self/limits, unlimited as Infinity', () => {
    const row = (soft: string, hard: string) => `Max processes  63000  63000  processes\nMax open files            ${soft}                ${hard}                files\n`;
    expect(parseFdLimit(row('1024', '4096'))).toBe(1024);
    expect(parseFdLimit(row('unlimited', 'unlimited'))).toBe(Infinity);
    expect(parseFdLimit('Max processes 1 1 processes\n')).toBeNull();
  });

  it('caps producer connections at the limit less those open and the reserve, and warns naming the key, the values and the fix', () => {
    const fits = planFds(20_000, 30, 10_000);
    expect(fits.tcpCap).toBe(20_000 - 30 - FD_RESERVE);
    expect(fits.warning).toBeNull();
    const tight = planFds(256, 30, 10_000);
    expect(tight.tcpCap).toBe(256 - 30 - FD_RESERVE);
    expect(tight.warning).toContain('tcp.maxConnections 10000');
    expect(tight.warning).toContain('descriptor limit 256');
    expect(tight.warning).toContain(`at most ${tight.tcpCap} producer connections`);
    expect(tight.warning).toContain(`raise the limit to at least ${10_000 + 30 + FD_RESERVE}`);
    expect(planFds(Infinity, 30, 10_000)).toMatchObject({ tcpCap: Infinity, warning: null });
  });

  it('recounts: descriptors others took since start-up come off the producers\' share, not the reserve', () => {
    // 256 allowed, 200 open now, 100 of them producers: 100 others, so 256 - 64 - 100 producers at most.
    expect(recount(256, 100, 200)).toBe(92);
    expect(recount(256, 0, 250), 'never below zero').toBe(0);
    expect(recount(256, 10, null), 'no /proc: no answer').toBeNull();
  });

  it('knows the out-of-descriptor accept errors, as libuv codes and as Node codes', () => {
    const { EMFILE, ENFILE, ECONNABORTED } = os.constants.errno;
    expect([-EMFILE, -ENFILE, 'EMFILE', 'ENFILE'].every(isOutOfDescriptors)).toBe(true);
    expect(isOutOfDescriptors(-ECONNABORTED)).toBe(false);
    expect(isOutOfDescriptors(undefined)).toBe(false);
  });
});

describe('failed accepts', () => {
  let live: LiveServer | null = null;
  afterEach(async () => {
    await live?.stop();
    live = null;
  });

  for (const readMode of ['auto', 'data'] as const) {
    it(`are counted (EMFILE as fd_limit, others apart) on the ${readMode === 'auto' ? 'onread' : "'data'"} accept path`, async () => {
      live = await startServer({}, { readMode });
      const tcp = live.server.tcp!;
      const server = (tcp as unknown as { server: net.Server & { _handle: { onconnection(err: number): void } } }).server;
      const { EMFILE, ECONNABORTED } = os.constants.errno;
      const fail = (errno: number, code: string): void => {
        // The two ways Node reports a failed accept: libuv's callback (onread), the server's 'error' ('data').
        if (tcp.usesOnread) server._handle.onconnection(-errno);
        else server.emit('error', Object.assign(new Error(`accept ${code}`), { code }));
      };
      fail(EMFILE, 'EMFILE');
      fail(EMFILE, 'EMFILE');
      fail(ECONNABORTED, 'ECONNABORTED');
      expect(live.server.stats.connectionsRejected.fd_limit).toBe(2);
      expect(live.server.stats.acceptErrors).toBe(1);
      // And the server still accepts.
      const sock = net.connect(live.tcpPort, '127.0.0.1');
      await new Promise((resolve) => sock.once('connect', resolve));
      sock.destroy();
    });
  }
});

function hasPrlimit(): boolean {
  try {
    execFileSync('prlimit', ['--version'], { stdio: 'ignore' });
    return fs.existsSync('/proc/self/limits');
  } catch {
    return false;
  }
}
const canRun = hasPrlimit();
if (!canRun && process.env.CI !== 'true') process.stdout.write('fd-limit: skipped the prlimit test (needs prlimit and Linux /proc)\n');

describe.skipIf(!canRun && process.env.CI !== 'true')('a server under prlimit --nofile=256 flooded with connections', () => {
  let child: ChildServer | null = null;
  const sockets: net.Socket[] = [];
  afterEach(async () => {
    for (const s of sockets.splice(0)) s.destroy();
    if (child !== null && child.child.exitCode === null) {
      child.child.kill('SIGKILL');
      await child.exited;
    }
  });

  it('refuses what does not fit as fd_limit, warns at start-up, and answers /healthz and /metrics throughout', async () => {
    const LIMIT = 256;
    child = await startChild({ handlers: [], log: { level: 'warn' } }, undefined, [], ['prlimit', `--nofile=${LIMIT}:${LIMIT}`]);
    const srv = child;
    const http = (route: string) => fetch(`http://127.0.0.1:${srv.httpPort}${route}`);
    const metric = async (series: string): Promise<number> => {
      const line = (await (await http('/metrics')).text()).split('\n').find((l) => l.startsWith(`${series} `));
      return Number(line?.slice(series.length + 1));
    };
    const warning = srv.lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((o) => String(o.msg).includes('does not fit under the descriptor limit'));
    expect(warning, 'the start-up warning').toBeDefined();
    const tcpCap = warning!.tcpCap as number;
    expect(tcpCap).toBeGreaterThan(50);
    expect(tcpCap).toBeLessThanOrEqual(LIMIT - FD_RESERVE);

    const N = 400; // more than the limit itself
    let healthChecks = 0;
    for (let i = 0; i < N; i += 50) {
      for (let k = 0; k < 50; k++) {
        const s = net.connect(srv.tcpPort, '127.0.0.1');
        s.on('error', () => {});
        s.resume();
        sockets.push(s);
      }
      await Promise.all(sockets.slice(i).map((s) => new Promise((resolve) => (s.connecting ? s.once('connect', resolve).once('close', resolve) : resolve(null)))));
      expect((await http('/healthz')).status, `/healthz after ${i + 50} connections`).toBe(200);
      healthChecks++;
    }
    const deadline = Date.now() + 10_000;
    while ((await metric('pkt_ingest_connections_active')) + (await metric('pkt_ingest_connections_rejected_total{reason="fd_limit"}')) < N) {
      if (Date.now() > deadline) throw new Error('not every connection was admitted or refused');
      await sleep(20);
    }
    const active = await metric('pkt_ingest_connections_active');
    const refused = await metric('pkt_ingest_connections_rejected_total{reason="fd_limit"}');
    // The start-up cap, less what the HTTP listener and this test's keep-alive scrapes took since (the recount).
    expect(active).toBeLessThanOrEqual(tcpCap);
    expect(active).toBeGreaterThanOrEqual(tcpCap - 8);
    expect(refused).toBe(N - active);
    expect(await metric('pkt_ingest_accept_errors_total')).toBe(0);
    const fds = fs.readdirSync(`/proc/${srv.child.pid}/fd`).length;
    // The reserve holds what came after the plan: the HTTP listener and this test's keep-alive scrapes.
    expect(LIMIT - fds, 'descriptors left free').toBeGreaterThanOrEqual(FD_RESERVE - 8);
    expect((await http('/readyz')).status).toBe(200);

    // Admitted producers are served; once they go, a newcomer is admitted.
    const frame = encodeFrame({ sourceId: 'fd', destId: 'limit', payload: Buffer.alloc(10) });
    for (const s of sockets) if (!s.destroyed) s.write(frame);
    while ((await metric('pkt_ingest_packets_total')) < active) {
      if (Date.now() > deadline + 10_000) throw new Error('admitted producers not served');
      await sleep(20);
    }
    for (const s of sockets.splice(0)) s.destroy();
    while ((await metric('pkt_ingest_connections_active')) > 0) await sleep(20);
    const late = net.connect(srv.tcpPort, '127.0.0.1');
    late.on('error', () => {});
    sockets.push(late);
    late.write(frame);
    while ((await metric('pkt_ingest_packets_total')) < active + 1) await sleep(20);
    expect(await metric('pkt_ingest_connections_rejected_total{reason="fd_limit"}')).toBe(N - active);
    process.stdout.write(
      `fd limit ${LIMIT}: cap ${tcpCap} at start-up (open at start ${String(warning!.openAtStart)}, reserve ${FD_RESERVE}), ${N} connections: ${active} admitted, ${refused} refused fd_limit, ` +
        `server fds ${fds} of ${LIMIT}, /healthz 200 on all ${healthChecks} checks\n`,
    );
  }, 60_000);
});
