/**
 * Renaming at rotation: path.(k) -> path.(k+1) for k = keepFiles-1..1,
 * path -> path.1; the oldest (path.keepFiles) is deleted first. With
 * keepFiles 0 the live file itself is deleted. The caller closed the live
 * descriptor and opens a fresh `path` afterwards. Stateless.
 */
import type { CaptureFs } from './capture-fs.js';

export interface Rotated {
  /** Where the live file's bytes went (null with keepFiles 0: deleted). */
  readonly rotatedTo: string | null;
  /** Files deleted to keep keepFiles (for the log). */
  readonly pruned: string[];
}

export async function shiftRotated(fs: CaptureFs, path: string, keepFiles: number): Promise<Rotated> {
  if (keepFiles === 0) {
    await fs.remove(path);
    return { rotatedTo: null, pruned: [path] };
  }
  const oldest = `${path}.${keepFiles}`;
  const pruned = (await fs.pathIdentity(oldest)) === null ? [] : [oldest];
  await fs.remove(oldest);
  for (let k = keepFiles - 1; k >= 1; k--) await fs.rename(`${path}.${k}`, `${path}.${k + 1}`);
  await fs.rename(path, `${path}.1`);
  return { rotatedTo: `${path}.1`, pruned };
}
