/**
 * The reason names of docs/protocol.md, in validation order. They are metric label
 * values and log fields: fixed by the contract.
 */
export const FRAME_ERROR_REASONS = [
  'bad_magic',
  'unsupported_version',
  'bad_header_len',
  'frame_too_large',
  'unterminated_string',
  'invalid_utf8',
  'bad_extension',
  'crc_mismatch',
  'truncated',
] as const;

export type FrameErrorReason = (typeof FRAME_ERROR_REASONS)[number];

