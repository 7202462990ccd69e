/**
 * Heap samples after a forced GC (V8 heap in use plus external memory:
 * Buffers live outside the JS heap), and the verdict on them: the median of
 * the last third of the run against the median of the middle third (the
 * first third is warm-up: JIT, pools, caches). A leak of even a few bytes
 * per input shows as a steady climb; GC noise does not move a median much.
 */
import v8 from 'node:v8';
import vm from 'node:vm';

export interface HeapReport {
  samples: number;
  /** Median of the middle third, bytes. */
  baselineBytes: number;
  /** Median of the last third, bytes. */
  finalBytes: number;
  growthBytes: number;
  /** Allowed growth: limitBytes. */
  limitBytes: number;
}

let gc: (() => void) | null = null;

/** `global.gc`, exposed at run time (workers cannot take --expose-gc in execArgv). */
function collect(): void {
  if (gc === null) {
    v8.setFlagsFromString('--expose-gc');
    gc = vm.runInNewContext('gc') as () => void;
  }
  gc();
}

const median = (xs: number[]): number => {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >>> 1];
};

export class HeapWatch {
  private readonly samples: number[] = [];
  constructor(private readonly limitBytes = 16 * 1024 * 1024) {}

  sample(): void {
    collect();
    const h = v8.getHeapStatistics();
    this.samples.push(h.used_heap_size + h.external_memory);
  }

  report(): HeapReport {
    const n = this.samples.length;
    const third = Math.floor(n / 3);
    const baselineBytes = median(this.samples.slice(third, n - third));
    const finalBytes = median(this.samples.slice(n - third));
    return {
      samples: n,
      baselineBytes,
      finalBytes,
      growthBytes: third === 0 ? 0 : finalBytes - baselineBytes,
      limitBytes: this.limitBytes,
    };
  }
}
