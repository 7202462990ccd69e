/**
 * One TLS handshake against a server on loopback, judged from the server's
 * side (it decides): the identity it saw at 'secureConnection', or the
 * error it reported at 'tlsClientError'. Whichever comes first settles it.
 */
import net from 'node:net';
import tls from 'node:tls';
import { handshakeFailure, tlsIdentity, type TlsIdentity } from '../../src/socket/tls-identity.js';

export type ServerVerdict = { accepted: true; identity: TlsIdentity } | { accepted: false; reason: string; error: Error & { code?: string } };

export interface ProbeServer {
  server: tls.Server;
  port: number;
  /** The next handshake's verdict, in accept order. */
  next(): Promise<ServerVerdict>;
  close(): Promise<void>;
}

export async function startProbeServer(options: tls.TlsOptions): Promise<ProbeServer> {
  const verdicts: ServerVerdict[] = [];
  const waiters: Array<(v: ServerVerdict) => void> = [];
  const push = (v: ServerVerdict): void => {
    const w = waiters.shift();
    if (w) w(v);
    else verdicts.push(v);
  };
  const server = tls.createServer(options, (socket) => {
    push({ accepted: true, identity: tlsIdentity(socket) });
    socket.on('error', () => {});
    socket.end('ok');
  });
  // Node leaves the socket open after some failures (a handshake timeout): the server must destroy it.
  server.on('tlsClientError', (error, socket) => {
    push({ accepted: false, reason: handshakeFailure(error, socket), error });
    socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    server,
    port,
    next: () => (verdicts.length > 0 ? Promise.resolve(verdicts.shift() as ServerVerdict) : new Promise((resolve) => waiters.push(resolve))),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** Connects with `options`, and resolves once the client side is closed (errors swallowed: the server judges). */
export function connectClient(port: number, options: tls.ConnectionOptions): { socket: tls.TLSSocket; closed: Promise<{ error: Error | null; peerFingerprint: string | null }> } {
  const socket = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', ...options });
  let error: Error | null = null;
  let peerFingerprint: string | null = null;
  socket.on('secureConnect', () => {
    peerFingerprint = socket.getPeerCertificate().fingerprint256 ?? null;
  });
  socket.on('error', (err) => {
    error ??= err;
  });
  socket.resume();
  const closed = new Promise<{ error: Error | null; peerFingerprint: string | null }>((resolve) =>
    socket.on('close', () => resolve({ error, peerFingerprint })),
  );
  return { socket, closed };
}
