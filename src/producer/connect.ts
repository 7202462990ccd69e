/**
 * The client side of a connection to pkt-ingest, plain or TLS: the one place
 * the producer and the load generator open sockets. With `tls` set it is
 * `tls.connect` (server verified against `ca`, client certificate when
 * `cert`/`key` are given), and the socket is ready at 'secureConnect';
 * plain TCP is ready at 'connect'. Writes before that are buffered by Node.
 */
import net from 'node:net';
import tls from 'node:tls';

type Pem = string | Buffer | Array<string | Buffer>;

export interface ClientTlsOptions {
  /** CA certificate(s) that sign the server's certificate (PEM). Default: Node's bundled roots. */
  ca?: Pem;
  /** Client certificate and key (PEM), for servers with tcp.tls.clientAuth request/require. */
  cert?: Pem;
  key?: Pem;
  /** Name checked against the server certificate (and sent as SNI). Default: the host. */
  servername?: string;
  /** Default true. `false` skips server verification: for tests only. */
  rejectUnauthorized?: boolean;
}

/** The event after which the socket carries frames to the server. */
export type ReadyEvent = 'connect' | 'secureConnect';

export function readyEvent(tlsOptions: ClientTlsOptions | null | undefined): ReadyEvent {
  return tlsOptions ? 'secureConnect' : 'connect';
}

/** Opens a connection with Nagle off; listen for readyEvent(tlsOptions), 'error' and 'close'. */
export function connectSocket(host: string, port: number, tlsOptions: ClientTlsOptions | null | undefined): net.Socket {
  if (!tlsOptions) return net.connect({ host, port, noDelay: true });
  const { ca, cert, key, servername, rejectUnauthorized } = tlsOptions;
  const socket = tls.connect({
    host,
    port,
    ca,
    cert,
    key,
    // SNI must not be an IP address (RFC 6066); verification then checks the IP against the SANs.
    servername: servername ?? (net.isIP(host) === 0 ? host : undefined),
    rejectUnauthorized: rejectUnauthorized ?? true,
  });
  // tls.connect has no noDelay option; Node applies this once the TCP socket exists.
  socket.setNoDelay(true);
  return socket;
}

/** Checks the shape of `tls` options; returns a message naming the field, or null. */
export function checkClientTls(value: unknown, label: string): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'object') return `${label} is ${String(value)}; expected an object { ca, cert, key, servername }`;
  const t = value as ClientTlsOptions;
  if ((t.cert === undefined) !== (t.key === undefined)) return `${label}.cert and ${label}.key go together; give both or neither`;
  if (t.servername !== undefined && (typeof t.servername !== 'string' || t.servername.length === 0)) {
    return `${label}.servername is ${String(t.servername)}; expected a non-empty host name`;
  }
  return null;
}
