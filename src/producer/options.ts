/** Producer options: the public shape, defaults, and one validation pass at construction. */
import type { BackoffOptions } from '../retry/backoff.js';
import { checkClientTls, type ClientTlsOptions } from './connect.js';
import { ProducerError } from './errors.js';

export interface ProducerOptions {
  host: string;
  port: number;
  /**
   * Reconnect after a failed or lost connection, with jittered exponential
   * backoff between minMs and maxMs. `false`: the first failure is final.
   * Default { minMs: 100, maxMs: 10_000 }.
   */
  reconnect?: BackoffOptions | false;
  /** send() returns false once this many bytes wait for the kernel. Default 1 MiB. */
  highWaterMark?: number;
  /** Hard bound on waiting bytes (also while disconnected): send() throws past it. Default 16 MiB, at least highWaterMark. */
  maxQueuedBytes?: number;
  /** Size of one write slab; frames larger than this get their own buffer. Default 256 KiB. */
  slabBytes?: number;
  /** close() waits this long for the server to close its side after our FIN, then resets. Default 5000. */
  closeTimeoutMs?: number;
  /** Connect over TLS (the server's tcp.tls): `{ ca, cert, key, servername }`. Default: plain TCP. */
  tls?: ClientTlsOptions;
  /**
   * Ask the server for acknowledgements (docs/protocol.md): every frame from send()
   * gets ACK_REQUEST and a `sequence` extension; frames are kept until
   * acknowledged and resent after a reconnect; flush() waits for the ACKs.
   * Default false.
   */
  acks?: boolean;
  /** Ack mode: send() returns false once this many bytes are sent and not acknowledged. Default 8 MiB. */
  maxUnackedBytes?: number;
}

export interface ResolvedOptions {
  readonly host: string;
  readonly port: number;
  readonly reconnect: BackoffOptions | false;
  readonly highWaterMark: number;
  readonly maxQueuedBytes: number;
  readonly slabBytes: number;
  readonly closeTimeoutMs: number;
  readonly tls: ClientTlsOptions | null;
  readonly acks: boolean;
  readonly maxUnackedBytes: number;
}

const MiB = 1024 * 1024;

function check(ok: boolean, what: string, value: unknown, allowed: string): void {
  if (!ok) throw new ProducerError('invalid_option', `pkt producer: ${what} is ${String(value)}; expected ${allowed}`);
}

function isCount(n: unknown, min: number): n is number {
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= min;
}

export function resolveOptions(options: ProducerOptions): ResolvedOptions {
  const { host, port } = options;
  check(typeof host === 'string' && host.length > 0, 'host', host, 'a non-empty host name or address');
  check(isCount(port, 1) && port <= 65535, 'port', port, 'an integer 1..65535');
  const reconnect = options.reconnect ?? { minMs: 100, maxMs: 10_000 };
  if (reconnect !== false) {
    check(isCount(reconnect.minMs, 1), 'reconnect.minMs', reconnect.minMs, 'an integer >= 1');
    check(isCount(reconnect.maxMs, reconnect.minMs), 'reconnect.maxMs', reconnect.maxMs, `an integer >= minMs (${reconnect.minMs})`);
  }
  const highWaterMark = options.highWaterMark ?? MiB;
  check(isCount(highWaterMark, 1), 'highWaterMark', highWaterMark, 'an integer >= 1 (bytes)');
  const acks = options.acks ?? false;
  check(typeof acks === 'boolean', 'acks', acks, 'true or false');
  const maxUnackedBytes = options.maxUnackedBytes ?? 8 * MiB;
  check(isCount(maxUnackedBytes, 1), 'maxUnackedBytes', maxUnackedBytes, 'an integer >= 1 (bytes)');
  // In ack mode queued bytes include the unacknowledged window: the hard bound must leave room for it.
  const floor = acks ? Math.max(highWaterMark, maxUnackedBytes) : highWaterMark;
  const maxQueuedBytes = options.maxQueuedBytes ?? Math.max(16 * MiB, floor);
  check(isCount(maxQueuedBytes, floor), 'maxQueuedBytes', maxQueuedBytes, `an integer >= ${acks ? 'highWaterMark and maxUnackedBytes' : 'highWaterMark'} (${floor})`);
  const slabBytes = options.slabBytes ?? 256 * 1024;
  check(isCount(slabBytes, 64), 'slabBytes', slabBytes, 'an integer >= 64');
  const closeTimeoutMs = options.closeTimeoutMs ?? 5000;
  check(isCount(closeTimeoutMs, 0), 'closeTimeoutMs', closeTimeoutMs, 'an integer >= 0');
  const tlsProblem = checkClientTls(options.tls, 'tls');
  if (tlsProblem !== null) throw new ProducerError('invalid_option', `pkt producer: ${tlsProblem}`);
  return {
    host,
    port,
    reconnect: reconnect === false ? false : { minMs: reconnect.minMs, maxMs: reconnect.maxMs },
    highWaterMark,
    maxQueuedBytes,
    slabBytes,
    closeTimeoutMs,
    tls: options.tls ?? null,
    acks,
    maxUnackedBytes,
  };
}
