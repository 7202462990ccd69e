/** The machine a run happened on, printed with every report. */
import os from 'node:os';
import { exposedGc } from './gc.js';

export interface BenchEnvironment {
  readonly node: string;
  readonly v8: string;
  readonly cpu: string;
  readonly cores: number;
  readonly loadAverage: readonly number[];
  readonly exposedGc: boolean;
}

export function describeEnvironment(): BenchEnvironment {
  const cpus = os.cpus();
  return {
    node: process.version,
    v8: process.versions.v8,
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    loadAverage: os.loadavg().map((l) => Math.round(l * 100) / 100),
    exposedGc: exposedGc() !== null,
  };
}

export function environmentLine(env: BenchEnvironment): string {
  return (
    `Node ${env.node} (V8 ${env.v8}), ${env.cpu} x${env.cores}, load average ${env.loadAverage.join(' ')}` +
    (env.exposedGc ? ', gc() between runs' : ', no gc() between runs (run without --expose-gc)')
  );
}
