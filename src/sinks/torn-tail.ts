/**
 * A crash can leave a capture file ending in part of a frame. Appending
 * after it would splice the next frames onto that torn one and make them
 * unreadable, so a writer reopening a file first finds where the torn tail
 * starts (a streaming pass of the decoder, one small ring) and cuts it off.
 */
import fs from 'node:fs';
import { inspectFile } from '../inspect/inspect-file.js';
import { MAX_HEADER_LEN } from '../wire/constants.js';
import { MAX_PAYLOAD_BYTES_LIMIT } from '../config/schema.js';

/** The widest limits a capture can hold frames under: nothing whole is mistaken for torn. */
const CAPTURE_LIMITS = { maxHeaderBytes: MAX_HEADER_LEN, maxPayloadBytes: MAX_PAYLOAD_BYTES_LIMIT };
const SCAN_RING_BYTES = 1024 * 1024;

/** Offset of a torn last frame in the file at `path`, or -1 (none, or no file). */
export function tornTailOffset(path: string): number {
  if (!fs.existsSync(path) || fs.statSync(path).size === 0) return -1;
  return inspectFile(path, CAPTURE_LIMITS, SCAN_RING_BYTES).torn?.offset ?? -1;
}
