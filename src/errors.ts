/**
 * Every error pkt-ingest throws on purpose is a PktError with a stable `code`.
 * Codes are part of the public contract: never rename or reuse a retired one.
 * docs/errors.md lists each (code, class, when, what to do); test/errors.test.ts
 * fails when the two disagree. Adding a code: one line here, one row there
 * (plus its class below if it needs its own).
 */
export const ErrorCodes = {
  /** A stream violated docs/protocol.md; `reason` names the check. */
  FRAME: 'PKT_ERR_FRAME',
  /** A configuration key, flag or environment value is invalid. */
  CONFIG: 'PKT_ERR_CONFIG',
  /** Command-line usage error (unknown flag, missing argument). */
  USAGE: 'PKT_ERR_USAGE',
  /** The server could not start (port in use, unwritable capture directory). */
  STARTUP: 'PKT_ERR_STARTUP',
  /** A handler module does not export a valid handler factory. */
  HANDLER_MODULE: 'PKT_ERR_HANDLER_MODULE',
  /** A frame to encode does not fit the format or the caller's buffer. */
  ENCODE: 'PKT_ERR_ENCODE',
  /** The ring was used against its ownership rules (a bug in the caller). */
  RING: 'PKT_ERR_RING',
  /** The producer client could not deliver (connection lost, queue full, closed). */
  PRODUCER: 'PKT_ERR_PRODUCER',
  /** A capture file cannot take the call (closed, opened twice) or a write came back short. */
  CAPTURE: 'PKT_ERR_CAPTURE',
  /** A forward target cannot take or deliver batches (closed, connect timed out). */
  FORWARD: 'PKT_ERR_FORWARD',
  /** An API was called in a state that does not allow it (start() twice, not listening). */
  STATE: 'PKT_ERR_STATE',
  /** The jetstream handler: a stream or server cannot take what its configuration asks (names the key). */
  JETSTREAM: 'PKT_ERR_JETSTREAM',
  /** A handler held a packet (its promise unsettled) past limits.handlerTimeoutMs. */
  HANDLER_TIMEOUT: 'PKT_ERR_HANDLER_TIMEOUT',
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

export class PktError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

export class ConfigError extends PktError {
  constructor(message: string) {
    super(ErrorCodes.CONFIG, message);
  }
}

export class UsageError extends PktError {
  constructor(message: string) {
    super(ErrorCodes.USAGE, message);
  }
}

export class StartupError extends PktError {
  constructor(message: string, options?: ErrorOptions) {
    super(ErrorCodes.STARTUP, message, options);
  }
}

export class HandlerModuleError extends PktError {
  constructor(message: string, options?: ErrorOptions) {
    super(ErrorCodes.HANDLER_MODULE, message, options);
  }
}

export class EncodeError extends PktError {
  constructor(message: string) {
    super(ErrorCodes.ENCODE, message);
  }
}

export class RingError extends PktError {
  constructor(message: string) {
    super(ErrorCodes.RING, message);
  }
}

export class CaptureError extends PktError {
  constructor(message: string, options?: ErrorOptions) {
    super(ErrorCodes.CAPTURE, message, options);
  }
}

export class ForwardError extends PktError {
  constructor(message: string, options?: ErrorOptions) {
    super(ErrorCodes.FORWARD, message, options);
  }
}

export class StateError extends PktError {
  constructor(message: string) {
    super(ErrorCodes.STATE, message);
  }
}

/** Counted against a handler whose promise stayed unsettled past limits.handlerTimeoutMs. */
export class HandlerTimeoutError extends PktError {
  constructor(message: string) {
    super(ErrorCodes.HANDLER_TIMEOUT, message);
  }
}
