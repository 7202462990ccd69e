/** Input checks shared by dump and replay: which FILE arguments do not exist. */
import fs from 'node:fs';
import nodePath from 'node:path';
import { captureFiles } from '../capture/capture-files.js';

/**
 * The first FILE with nothing to read, or null. A capture path given alone
 * counts if it or one of its rotated files exists; when following, a
 * missing live file in an existing directory is fine (it will be waited for).
 */
export function missingCapture(files: readonly string[], follow: boolean): string | null {
  for (const file of files) {
    const set = files.length === 1 ? captureFiles(file) : [file];
    if (set.some((f) => fs.existsSync(f))) continue;
    if (follow && files.length === 1 && fs.existsSync(nodePath.dirname(file))) continue;
    return file;
  }
  return null;
}
