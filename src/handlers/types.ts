/**
 * The public extension point: what a handler author implements and receives.
 *
 * Lifetime rule (read this once): a `Packet` and every Buffer taken from it
 * (payload, ids, frame) are views into the connection's ring. They are valid
 * during `onPacket` and, if `onPacket` returns a promise, until that promise
 * settles. After that the bytes are reused: call `packet.copy()` to keep them.
 */
import type { Logger } from 'pino';
import type { ExtensionRecord } from '../wire/encode.js';

/** How a handler's packets commit (see CONTRACT.md, "When a handler commits"). */
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
  readonly remoteAddress: string;
  readonly remotePort: number;
  /** Milliseconds since the epoch when the connection was accepted. */
  readonly openedAt: number;
  /** Packets delivered on this connection so far. */
  readonly packets: number;
  /** Child logger bound to this connection. */
  readonly log: Logger;
}

export interface PacketHandler {
  /**
   * Called for every delivered packet, in stream order per connection.
   * Return nothing (fast path) or a promise: the packet's bytes stay reserved
   * until it settles, and a full ring pauses the producer (backpressure).
   * A throw or rejection is counted and logged; the server goes on.
   */
  onPacket(packet: Packet, connection: ConnectionInfo): void | Promise<void>;
  /** Called after each read's packets were handed over; a promise holds all of them. */
  onBatchEnd?(connection: ConnectionInfo): void | Promise<void>;
  /** A connection opened (before its first packet). */
  open?(connection: ConnectionInfo): void;
  /** A connection closed (after its last packet). */
  closeConnection?(connection: ConnectionInfo): void;
  /** Shutdown: flush and release resources; awaited. */
  close?(): void | Promise<void>;
  /** Readiness: false while the handler cannot take data (e.g. its disk is failing). */
  isHealthy?(): boolean;
  /**
   * 'settle' (default): a packet is committed once onPacket returned, or its
   * promise (or the batch's onBatchEnd promise) resolved.
   * 'deferred': the handler commits explicitly with context.commit() once
   * the packets are durable (an fsync, a downstream acknowledgement).
   */
  readonly commitMode?: CommitMode;
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
