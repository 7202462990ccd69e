/** Reading Prometheus text exposition in tests: samples by name and exact label set, scraped live. */
import { expect } from 'vitest';
import { httpGet } from './live-server.js';

/** One sample line: `name{a="x",b="y"} value`. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export function parseExposition(text: string): { types: Map<string, string>; samples: Sample[] } {
  const types = new Map<string, string>();
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type) types.set(type[1], type[2]);
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const [, k, v] of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[k] = v;
    samples.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return { types, samples };
}

export async function scrape(port: number): Promise<{ types: Map<string, string>; samples: Sample[] }> {
  const res = await httpGet(port, '/metrics');
  expect(res.status).toBe(200);
  return parseExposition(res.body);
}

/** The value of the one sample `name{labels}` (labels matched exactly), or undefined. */
export function value(samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  const want = JSON.stringify(Object.entries(labels).sort());
  return samples.find((s) => s.name === name && JSON.stringify(Object.entries(s.labels).sort()) === want)?.value;
}

/** Polls /metrics until `check` passes; returns that scrape. */
export async function scrapeUntil(port: number, check: (samples: Sample[]) => boolean, what: string, ms = 5000): Promise<Sample[]> {
  const deadline = Date.now() + ms;
  for (;;) {
    const { samples } = await scrape(port);
    if (check(samples)) return samples;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

