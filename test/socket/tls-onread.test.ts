/**
 * TLS sockets switched to onread after the handshake (adoptOnread in
 * src/socket/onread-accept.ts): Node copies cleartext straight into the
 * ring. Every frame must arrive whole and in order through ring wrap-around,
 * frames larger than the ring, TLS records split across ring regions and
 * backpressure pauses; readMode 'data' keeps TLS on the 'data' path.
 * Needs openssl for the test certificates: skipped without it, fails under CI.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { encodeFrame } from '../../src/wire/encode.js';
import type { ConnectionInfo, Packet, PacketHandler } from '../../src/handlers/types.js';
import { opensslStatus, useTestCerts } from '../helpers/certs.js';
import { connectClient } from '../helpers/tls-probe.js';
import { startServer, type LiveServer } from '../helpers/live-server.js';

const openssl = opensslStatus();

/** Payload sizes from 0 to 40,000 B: many per TLS record, and many records (and rings) per frame. */
const sizes = Array.from({ length: 400 }, (_, i) => (i * 7919) % 40_001);
const stream = Buffer.concat(sizes.map((n, i) => encodeFrame({ sourceId: `s-${i}`, destId: 'd', payload: Buffer.alloc(n, i & 0xff) })));

/** Checks each frame as it comes; every 10th is held until the next turn, so the ring fills and the socket pauses. */
class Checker implements PacketHandler {
  count = 0;
  problems: string[] = [];
  usesOnread: boolean[] = [];
  private done: (() => void) | null = null;
  constructor(private readonly live: () => LiveServer | null) {}
  onPacket(packet: Packet, _conn: ConnectionInfo): void | Promise<void> {
    const i = this.count++;
    if (i === 0) this.usesOnread = [...(this.live()?.server.tcp?.connections ?? [])].map((c) => c.usesOnread);
    const payload = packet.payload;
    if (packet.sourceId !== `s-${i}` || payload.length !== sizes[i] || (payload.length > 0 && payload[payload.length - 1] !== (i & 0xff))) {
      this.problems.push(`frame ${i}: ${packet.sourceId}, ${payload.length} B`);
    }
    if (this.count === sizes.length) this.done?.();
    if (i % 10 === 0) return new Promise((resolve) => setImmediate(resolve));
  }
  all(): Promise<void> {
    return this.count >= sizes.length ? Promise.resolve() : new Promise((resolve) => (this.done = resolve));
  }
}

describe.skipIf(!openssl.available && !openssl.required)('TLS through onread', () => {
  const certs = useTestCerts();
  let live: LiveServer | null = null;
  afterEach(async () => {
    await live?.stop();
    live = null;
  });

  for (const readMode of ['auto', 'data'] as const) {
    it(`delivers ${sizes.length} frames (0 to 40,000 B, ring 16 KiB, holds) whole and in order; readMode ${readMode}`, async () => {
      const checker = new Checker(() => live);
      live = await startServer(
        { tcp: { ringBytes: 16384, tls: { certFile: certs().server.certFile, keyFile: certs().server.keyFile } } },
        { handlers: [{ name: 'check', handler: checker }], readMode },
      );
      const { socket, closed } = connectClient(live.tcpPort, { ca: certs().ca, servername: 'localhost' });
      socket.on('secureConnect', () => socket.end(stream));
      await checker.all();
      expect((await closed).error).toBeNull();
      expect(checker.problems).toEqual([]);
      expect(checker.count).toBe(sizes.length);
      expect(checker.usesOnread).toEqual([readMode === 'auto']);
      expect(live.server.stats.backpressurePauses).toBeGreaterThan(0);
    });
  }
});
