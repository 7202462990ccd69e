/**
 * The producer's one error class, code 'PKT_ERR_PRODUCER'.
 */
import { ErrorCodes, PktError, type ErrorCode } from '../errors.js';

export const PRODUCER_ERROR_CODE: ErrorCode = ErrorCodes.PRODUCER;

/** Why a producer operation failed; stable, for programs to branch on. */
export type ProducerErrorReason =
  /** A connection attempt failed (refused, unreachable, timed out). */
  | 'connect_failed'
  /** An established connection ended or broke. */
  | 'connection_lost'
  /** send() would pass maxQueuedBytes. */
  | 'queue_full'
  /** The producer was closed, or failed for good with reconnect disabled. */
  | 'closed'
  /** close() could not deliver bytes that were queued. */
  | 'undelivered'
  /** A constructor option is out of range. */
  | 'invalid_option'
  /** Ack mode: sendRaw() bytes are not whole frames, so ACK counts cannot be mapped to them. */
  | 'invalid_frames'
  /** Ack mode: the server sent something that is not a valid ACK (the connection is dropped and retried). */
  | 'protocol';

export class ProducerError extends PktError {
  readonly reason: ProducerErrorReason;
  constructor(reason: ProducerErrorReason, message: string, options?: ErrorOptions) {
    super(PRODUCER_ERROR_CODE, message, options);
    this.reason = reason;
  }
}

/** The error for a call on a producer that was closed, or failed for good with `failure`. */
export function closedError(address: string, failure: ProducerError | null): ProducerError {
  if (failure === null) return new ProducerError('closed', `pkt producer ${address}: closed`);
  return new ProducerError('closed', `pkt producer ${address}: failed: ${failure.message}`, { cause: failure });
}
