/**
 * The malloc a storm's server process runs with (`PKT_BENCH_TLS_ALLOCATORS`,
 * default `glibc,jemalloc`): after a burst of TLS handshakes glibc keeps the
 * freed OpenSSL memory resident (freed chunks amid the heap are never given
 * back without malloc_trim, which Node does not call), jemalloc with a
 * background purge thread gives it back within about a second. The
 * Dockerfile ships the jemalloc setting; the storm measures both.
 */
import { spawnSync } from 'node:child_process';

export type Allocator = 'glibc' | 'jemalloc';

/**
 * What the Dockerfile sets. A bare soname, so the loader finds it on any
 * architecture's library path. background_thread: purging happens while the
 * process is idle too (otherwise only on later malloc calls);
 * dirty_decay_ms 1000: freed pages go back after about a second (default
 * 10 s); muzzy_decay_ms 0: given back with MADV_DONTNEED at once, since
 * MADV_FREE pages still count in RSS until the kernel needs them.
 */
export const JEMALLOC_ENV = {
  LD_PRELOAD: 'libjemalloc.so.2',
  MALLOC_CONF: 'background_thread:true,dirty_decay_ms:1000,muzzy_decay_ms:0',
} as const;

/** The environment of a server process using `allocator`. */
export function allocatorEnv(allocator: Allocator): NodeJS.ProcessEnv {
  return allocator === 'jemalloc' ? { ...process.env, ...JEMALLOC_ENV } : process.env;
}

/** True if a Node started with JEMALLOC_ENV really maps jemalloc (a missing library is only a loader warning). */
export function jemallocLoads(): boolean {
  const probe = "process.stdout.write(String(require('fs').readFileSync('/proc/self/maps', 'utf8').includes('jemalloc')))";
  const r = spawnSync(process.execPath, ['-e', probe], { env: allocatorEnv('jemalloc'), encoding: 'utf8' });
  return r.stdout === 'true';
}

/** The allocators to storm with: PKT_BENCH_TLS_ALLOCATORS, or both; jemalloc dropped (said in `log`) if it does not load. */
export function stormAllocators(log: (line: string) => void): Allocator[] {
  const asked = (process.env.PKT_BENCH_TLS_ALLOCATORS ?? 'glibc,jemalloc').split(',').map((s) => s.trim());
  const known = asked.filter((a): a is Allocator => a === 'glibc' || a === 'jemalloc');
  if (known.includes('jemalloc') && !jemallocLoads()) {
    log('tls storm: libjemalloc.so.2 does not load here (apt-get install libjemalloc2); storming with glibc only');
    return known.filter((a) => a !== 'jemalloc');
  }
  return known.length > 0 ? known : ['glibc'];
}
