/**
 * The --help texts say what the README says: every serve flag of the
 * README's command table, each with its environment variable and default,
 * the HTTP routes (/status included) and the exit statuses.
 */
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { GLOBAL_HELP, SERVE_HELP } from '../../src/cli/parse-args.js';

const README = fs.readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
const ENV = [
  ['PKT_INGEST_HOST', '0.0.0.0'],
  ['PKT_INGEST_PORT', '7400'],
  ['PKT_INGEST_HTTP_PORT', '7401'],
  ['PKT_INGEST_LOG_LEVEL', 'info'],
  ['PKT_INGEST_LOG_FORMAT', 'json'],
] as const;

describe('--help texts', () => {
  it("serve --help has every flag of the README's serve row", () => {
    const row = README.split('\n').find((l) => l.startsWith('| `node dist/cli.js serve'));
    expect(row, 'the serve row of the README command table').toBeDefined();
    const flags = [...row!.matchAll(/--[a-z-]+/g)].map((m) => m[0]);
    expect(flags).toEqual(expect.arrayContaining(['--config', '--host', '--port', '--http-port', '--log-level', '--log-format']));
    for (const flag of flags) expect(SERVE_HELP, flag).toContain(`  ${flag} `);
  });

  it('serve --help and the top-level help show each environment variable with its default', () => {
    for (const [env, def] of ENV) {
      expect(SERVE_HELP).toMatch(new RegExp(`env ${env} +default: ${def}\\n`));
      expect(GLOBAL_HELP).toMatch(new RegExp(`${env} .*default: ${def}\\n`));
    }
  });

  it('serve --help lists every HTTP route, /status included, and the protocol doc', () => {
    for (const route of ['/healthz', '/readyz', '/metrics', '/status']) expect(SERVE_HELP).toContain(route);
    expect(SERVE_HELP).toContain('docs/protocol.md');
  });

  it('both list exit status 3 for a second signal, as README.md does', () => {
    expect(README).toContain('second signal exits at once with status 3');
    for (const text of [SERVE_HELP, GLOBAL_HELP]) expect(text).toMatch(/ {2}3 {2}a second SIGTERM or SIGINT during the shutdown/);
  });
});
