/**
 * The public extension point: what a handler author implements and receives.
 * The same rules, with examples, are in examples/README.md.
 *
 * Lifetime rule (read this once): a `Packet` and every Buffer taken from it
 * (payload, ids, frame) are views into the connection's ring. They are valid
 * during `onPacket` and, if `onPacket` returns a promise, until that promise
 * settles. After that the bytes are reused: call `packet.copy()` to keep them.
 *
 * Concurrency: the server does NOT wait for a promise before the next call.
 * Each read from a producer is decoded at once and every packet in it is
 * handed to every handler, synchronously, one after another:
 *
 *   read -> onPacket(p1) onPacket(p2) ... onPacket(pn) -> onBatchEnd()   (handler 1, 2, ... per packet)
 *   next read -> the same, whether or not earlier promises settled
 *
 * - In flight per connection: every packet whose bytes are still in the
 *   connection's ring, i.e. up to tcp.ringBytes / 26 (26 bytes is the
 *   smallest frame): 10,082 with the default 256 KiB ring, fewer for larger
 *   frames; plus at most one frame larger than the ring. When the ring is
 *   full of held bytes the server stops reading that producer
 *   (pkt_ingest_backpressure_pauses_total) until promises settle.
 * - Overall: the sum over connections (up to tcp.maxConnections); no global
 *   cap beyond that. So never do per-packet work that accumulates (one
 *   'drain' listener per packet hits MaxListenersExceededWarning): batch,
 *   and return one promise per batch (examples/batching-handler.mjs).
 * - Order: per connection, packets arrive in the order sent; packets of
 *   different connections interleave. Within one packet, handlers are
 *   called in config order.
 * - Release: a read's bytes are released when every promise returned for
 *   its packets (and its onBatchEnd) settled, and reads release in order.
 *   A rejection is counted in pkt_ingest_handler_errors_total and logged; it
 *   releases the bytes like a resolution.
 */
import type { TlsIdentity } from '../socket/tls-identity.js';
import type { Logger } from 'pino';
import type { ExtensionRecord } from '../wire/encode.js';

/** How a handler's packets commit (docs/protocol.md, Acknowledgements: "commits a frame when"). */
export type CommitMode = 'settle' | 'deferred';

/** A decoded, validated frame: a zero-copy view. */
export interface Packet {
  readonly version: number;
  readonly flags: number;
  /** Microseconds since the Unix epoch (exact up to 2^53; see timestampBigInt). */
  readonly timestamp: number;
  readonly timestampBigInt: bigint;
  readonly checksum: number;
  readonly headerLength: number;
  readonly payloadLength: number;
  /** Decoded on first access, cached while a connection repeats the same id. */
  readonly sourceId: string;
  readonly destId: string;
  /** The ids' raw UTF-8 bytes (views). */
  readonly sourceIdBytes: Buffer;
  readonly destIdBytes: Buffer;
  /** The payload bytes (a view). */
  readonly payload: Buffer;
  /** The whole frame, header and payload, byte-exact as received (a view). */
  readonly frame: Buffer;
  /** Zero-allocation access: the frame is buffer[frameStart, frameStart + frameLength). */
  readonly buffer: Buffer;
  readonly frameStart: number;
  readonly frameLength: number;
  /** Byte offset of the frame's first byte in the connection's stream. */
  readonly offset: number;
  /** Extension records in wire order, unknown types included (values are views). */
  extensions(): IterableIterator<ExtensionRecord>;
  /** An owned copy: same fields, payload and extension values copied. */
  copy(): OwnedPacket;
}

export interface OwnedPacket {
  version: number;
  flags: number;
  timestamp: number;
  timestampBigInt: bigint;
  checksum: number;
  sourceId: string;
  destId: string;
  payload: Buffer;
  extensions: ExtensionRecord[];
  /** The whole frame, byte-exact (an owned copy). */
  frame: Buffer;
  offset: number;
}

/** What a handler learns about the connection a packet came from. */
export interface ConnectionInfo {
  /** Unique per server process, increasing. */
  readonly id: number;
  /** The producer's address: the PROXY protocol's source where tcp.proxyProtocol is on, else the socket's. */
  readonly remoteAddress: string;
  readonly remotePort: number;
  /** null on plain TCP; on TLS the protocol and the client certificate, verified or not (OPERATIONS.md, Security). */
  readonly tls: TlsIdentity | null;
  /** Milliseconds since the epoch when the connection was accepted. */
  readonly openedAt: number;
  /** Packets delivered on this connection so far. */
  readonly packets: number;
  /** Child logger bound to this connection. */
  readonly log: Logger;
}

export interface PacketHandler {
  /**
   * Called for every delivered packet, in stream order per connection, and
   * called again before an earlier promise settles (see Concurrency above:
   * up to ringBytes / 26 calls in flight per connection).
   * Return nothing (fast path) or a promise: the packet's bytes stay reserved
   * until it settles, and a full ring pauses the producer (backpressure).
   * A throw or rejection is counted and logged; the server goes on.
   */
  onPacket(packet: Packet, connection: ConnectionInfo): void | Promise<void>;
  /**
   * Called once after each read's packets were handed over (not for reads
   * that completed no packet); a promise holds all of them. The place to
   * return one promise per read instead of one per packet.
   */
  onBatchEnd?(connection: ConnectionInfo): void | Promise<void>;
  /** A connection opened (before its first packet). */
  open?(connection: ConnectionInfo): void;
  /** A connection closed (after its last packet). */
  closeConnection?(connection: ConnectionInfo): void;
  /**
   * Shutdown: flush and release resources; awaited. `timeoutMs` is how long
   * the server will wait: a handler that cannot flush by then gives up and
   * resolves to `{ unwritten }`, the frames it was handed but never wrote.
   */
  close?(timeoutMs?: number): void | Promise<void | HandlerCloseResult>;
  /** Readiness: false while the handler cannot take data (e.g. its disk is failing). */
  isHealthy?(): boolean;
  /** Live state for `/status` and `pkt-ingest top` (small, JSON-serialisable), e.g. a capture's path or a forward target's queue. */
  status?(): Record<string, unknown>;
  /**
   * When this handler's packets count as committed, for producers in ack
   * mode (docs/reliability.md, Acknowledgements). Only connections in ack
   * mode are tracked; on plain connections this changes nothing.
   * - 'settle' (default): a packet is committed once onPacket returned, or
   *   its promise (or its batch's onBatchEnd promise) resolved, in order.
   * - 'deferred': the handler commits explicitly, later, with
   *   context.commit(connection, count) once the packets are durable (an
   *   fsync, a downstream acknowledgement); context.failCommit() if they
   *   never will be (the producer then gets FINAL handler_error and resends).
   *
   *   export default (options, context) => ({
   *     commitMode: 'deferred',
   *     onBatchEnd(connection) {
   *       const count = connection.packets;      // every packet handed over so far
   *       store.flush().then(() => context.commit(connection, count),
   *                          (err) => context.failCommit(connection, err));
   *     },
   *     onPacket(packet, connection) { store.add(packet.copy()); },
   *   });
   *
   * A rejected promise or a throw also fails the commit, in either mode.
   */
  readonly commitMode?: CommitMode;
}

/** What close() may report: frames handed over but not written (the server logs them, exits 3). */
export interface HandlerCloseResult {
  readonly unwritten: number;
}

/** Given to a handler factory. */
export interface HandlerContext {
  /** The handler's name (its metrics label). */
  readonly name: string;
  readonly log: Logger;
  /**
   * Counts an error against this handler in pkt_ingest_handler_errors_total
   * without failing a packet: for failures a handler retries itself (a
   * capture write, a forward connection), where no promise rejects.
   */
  reportError(error: unknown): void;
  /**
   * Deferred commit: this handler has committed the first `count` packets
   * of `connection` (count = `connection.packets` read when the last of them
   * was handed over). Cumulative and monotonic: a lower count is ignored.
   * Cheap: no allocation; call it from any later callback.
   */
  commit(connection: ConnectionInfo, count: number): void;
  /**
   * Deferred commit failed for good: packets after the last committed count
   * of `connection` will never commit. Counts a handler error; in ack mode
   * the connection ends with ACK + FINAL `handler_error`.
   */
  failCommit(connection: ConnectionInfo, error: unknown): void;
}

/** A `module` handler's default export. */
export type HandlerFactory<Options = Record<string, unknown>> = (
  options: Options,
  context: HandlerContext,
) => PacketHandler | Promise<PacketHandler>;
