/**
 * Forward with acks, end to end: producer --ack mode--> server A --forward
 * (acks: true)--> server B, and B restarts mid-stream. Every frame A
 * acknowledged to the producer must have reached B (before or after the
 * restart): A commits a frame only once B's ACK covered it.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ackFrame, AckClient } from '../helpers/ack-client.js';
import { Recorder, startServer, until, type LiveServer } from '../helpers/live-server.js';

const servers: LiveServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.stop()));
});

async function target(port = 0): Promise<{ live: LiveServer; recorder: Recorder }> {
  const recorder = new Recorder();
  const live = await startServer({ tcp: { port }, shutdown: { drainTimeoutMs: 2000 } }, { handlers: [{ name: 'rec', handler: recorder }] });
  servers.push(live);
  return { live, recorder };
}

describe('forward with acks across a target restart', () => {
  it('loses no acknowledged frame', async () => {
    const b1 = await target();
    const port = b1.live.tcpPort;
    const a = await startServer({
      handlers: [{ type: 'forward', name: 'fwd', host: '127.0.0.1', port, acks: true, reconnectMinMs: 5, reconnectMaxMs: 50 }],
    });
    servers.push(a);
    const client = await AckClient.connect(a.tcpPort);
    const total = 3000;
    let sent = 0;
    // The producer keeps sending, 20 frames a turn, through the restart.
    const sending = (async () => {
      while (sent < total) {
        client.write(Array.from({ length: 20 }, (_, k) => ackFrame(sent + k)));
        sent += 20;
        await new Promise((r) => setTimeout(r, 1));
      }
    })();
    await client.waitForCount(200);
    await b1.live.stop(); // FINAL draining to A's forward connection; A reconnects with backoff
    const sentAtRestart = sent;
    const b2 = await target(port);
    await sending;
    await client.waitForCount(total, 20_000);

    // Every frame is identified by its timestamp (i + 1): the union of what both targets stored.
    const stored = new Set([...b1.recorder.all, ...b2.recorder.all].map((p) => p.timestamp));
    for (let i = 0; i < client.committed; i++) expect(stored.has(i + 1), `acknowledged frame ${i}`).toBe(true);
    expect(sentAtRestart).toBeLessThan(total); // the restart happened mid-stream
    expect(b1.recorder.all.length).toBeGreaterThan(0);
    expect(b2.recorder.all.length).toBeGreaterThan(0);
    await until(() => a.server.stats.connectionsAckMode === 1, 1000, 'the producer still in ack mode');
    client.socket.destroy();
  });
});
