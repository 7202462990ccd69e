/** The reader's error for an invalid frame in a capture file (code PKT_ERR_FRAME). */
import { ErrorCodes, PktError } from '../errors.js';
import type { FrameErrorReason } from '../wire/reasons.js';

export class CaptureFrameError extends PktError {
  /** The docs/protocol.md reason. */
  readonly reason: FrameErrorReason;
  /** Byte offset of the bad frame's first byte in `file`. */
  readonly offset: number;
  readonly file: string;
  constructor(reason: FrameErrorReason, offset: number, file: string) {
    super(ErrorCodes.FRAME, `${file}: invalid frame at byte offset ${offset}: ${reason}`);
    this.reason = reason;
    this.offset = offset;
    this.file = file;
  }
}
