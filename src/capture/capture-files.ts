/**
 * Which files make up a capture, and in what order.
 *
 * The capture handler rotates by renaming (README.md, dump): the live file is
 * `path`; at rotateBytes it becomes `path.1`, older ones shift up to
 * `path.2` ... `path.keepFiles`, and a fresh `path` begins. Oldest first:
 *
 *   path.N  ...  path.2  path.1  path        (N = highest existing)
 *
 * Renames keep inodes, so a reader that holds a file open keeps its bytes
 * across rotations; what it needs afterwards is the file that came next,
 * which `successorOf` finds by inode, whatever renames happened meanwhile.
 * Stateless: every answer is read from the directory at call time.
 */
import fs from 'node:fs';
import nodePath from 'node:path';

/** `path.N` suffixes present next to `path`, highest (oldest) first. */
export function rotatedSuffixes(path: string): number[] {
  const dir = nodePath.dirname(path);
  const prefix = `${nodePath.basename(path)}.`;
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  const suffixes: number[] = [];
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const rest = name.slice(prefix.length);
    if (/^[1-9]\d{0,5}$/.test(rest)) suffixes.push(Number(rest));
  }
  return suffixes.sort((a, b) => b - a);
}

/** `path` for 0, else `path.k`. */
export function rotationPath(path: string, k: number): string {
  return k === 0 ? path : `${path}.${k}`;
}

/** A capture's files oldest first: its rotated files, then the live one (listed even if missing). */
export function captureFiles(path: string): string[] {
  return [...rotatedSuffixes(path).map((k) => rotationPath(path, k)), path];
}

function inodeOf(path: string): number | null {
  try {
    return fs.statSync(path).ino;
  } catch {
    return null;
  }
}

/** True while `path` names the file with inode `ino` (the live file has not rotated away). */
export function isLive(path: string, ino: number): boolean {
  return inodeOf(path) === ino;
}

/**
 * The file that follows the one with inode `ino` in `path`'s rotation order:
 * if it now sits at `path.k`, that is `path.(k-1)` (or `path` for k = 1).
 * If it is gone (keepFiles removed it), every file left is newer: the oldest
 * one follows. Returns the rotation index (0 = live path); the file may not
 * exist yet (the writer is between rename and create).
 */
export function successorOf(path: string, ino: number): number {
  const suffixes = rotatedSuffixes(path);
  for (const k of suffixes) if (inodeOf(rotationPath(path, k)) === ino) return k - 1;
  return suffixes.length > 0 ? suffixes[0] : 0;
}
