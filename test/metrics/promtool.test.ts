import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { createMetrics } from '../../src/metrics/registry.js';
import { IngestStats } from '../../src/metrics/ingest-stats.js';

// promtool comes from Debian's `prometheus` package. CI installs it, so there
// a missing promtool fails; on a laptop without it the check is skipped.
const hasPromtool = spawnSync('promtool', ['--version']).status === 0;
const required = Boolean(process.env.CI);

function check(input: string) {
  return spawnSync('promtool', ['check', 'metrics'], { input, encoding: 'utf8' });
}

describe.skipIf(!hasPromtool && !required)('promtool check metrics', () => {
  it('is installed', () => {
    expect(hasPromtool, 'promtool not on PATH (apt-get install prometheus)').toBe(true);
  });

  it('flags a bad exposition (the check is live)', () => {
    const r = check('# HELP bad_total A gauge named like a counter.\n# TYPE bad_total gauge\nbad_total 1\n');
    expect(r.status).not.toBe(0);
    expect(r.stdout + r.stderr).toContain('bad_total');
  });

  it('finds nothing to complain about in a real scrape', async () => {
    const stats = new IngestStats(['capture', 'relay']);
    const metrics = createMetrics(stats, { handlerNames: ['capture', 'relay'] });
    stats.packets = 42;
    stats.bytes = 4200;
    stats.frameErrors.bad_magic = 1;
    stats.connectionsActive = 3;
    stats.connectionsTotal = 4;
    stats.connectionsRejected.max_connections = 1;
    stats.handlerErrors.set('relay', 2);
    stats.ringBytes = 512;
    stats.ringMovedBytes = 64;
    metrics.observeLag(0.003);

    const r = check(await metrics.metricsText());
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
  });
});
