import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { execFile } from 'node:child_process';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HandlerModuleError } from '../../src/errors.js';
import { loadModuleHandler } from '../../src/handlers/module-handler.js';
import type { PacketHandler } from '../../src/handlers/types.js';
import { Flags } from '../../src/wire/constants.js';
import { Driver, connectionInfo, frame, silent } from './drive.js';

const run = promisify(execFile);
let dir: string;
const files: Record<string, string> = {
  'esm.mjs': `export default (options, context) => ({ options, name: context.name, onPacket() {} });`,
  'esm-async.mjs': `export default async (options) => { await null; return { async: true, onPacket() {}, close() {} }; };`,
  'cjs.cjs': `module.exports = (options) => ({ cjs: true, options, onPacket() {} });`,
  'cjs-compiled.cjs': `"use strict"; Object.defineProperty(exports, "__esModule", { value: true });
exports.default = function factory() { return { compiled: true, onPacket() {} }; };`,
  'no-default.mjs': `export function createHandler() { return { onPacket() {} }; }`,
  'object.mjs': `export default { settings: 1 };`,
  'handler-object.cjs': `module.exports = { onPacket() {} };`,
  'string.mjs': `export default 'nope';`,
  'throws.mjs': `export default () => { throw new Error('missing option "url"'); };`,
  'rejects.mjs': `export default async () => { throw new Error('cannot reach db'); };`,
  'returns-null.mjs': `export default () => null;`,
  'no-onpacket.mjs': `export default () => ({ onpacket() {} });`,
  'bad-close.mjs': `export default () => ({ onPacket() {}, close: 'soon' });`,
  'syntax.mjs': `export default (() => {`,
  'top-level-throw.mjs': `throw new Error('boom at load');`,
};

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'pkt-module-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  mkdirSync(join(dir, 'a-directory'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const load = (file: string, options: Record<string, unknown> = {}) =>
  loadModuleHandler({ name: 'enrich', path: join(dir, file), options }, { name: 'enrich', log: silent, reportError: () => {}, commit: () => {}, failCommit: () => {} });

async function failure(file: string): Promise<HandlerModuleError> {
  const error = await load(file).then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(HandlerModuleError);
  const e = error as HandlerModuleError;
  expect(e.code).toBe('PKT_ERR_HANDLER_MODULE');
  expect(e.message).not.toContain('\n');
  expect(e.message.startsWith(`handler "enrich" (module ${join(dir, file)}): `)).toBe(true);
  return e;
}

describe('loadModuleHandler', () => {
  it('loads an ESM factory with options and context', async () => {
    const h = (await load('esm.mjs', { tag: 'x' })) as PacketHandler & { options: unknown; name: string };
    expect(h.options).toEqual({ tag: 'x' });
    expect(h.name).toBe('enrich');
  });

  it('awaits an async factory', async () => {
    expect(await load('esm-async.mjs')).toMatchObject({ async: true });
  });

  it('loads a CommonJS factory (module.exports)', async () => {
    expect(await load('cjs.cjs', { a: 1 })).toMatchObject({ cjs: true, options: { a: 1 } });
  });

  it('loads CommonJS compiled from TypeScript (exports.default)', async () => {
    expect(await load('cjs-compiled.cjs')).toMatchObject({ compiled: true });
  });

  it('resolves a relative path against the working directory', async () => {
    const path = relative(process.cwd(), join(dir, 'esm.mjs'));
    const h = await loadModuleHandler({ name: 'rel', path, options: {} }, { name: 'rel', log: silent, reportError: () => {}, commit: () => {}, failCommit: () => {} });
    expect(typeof h.onPacket).toBe('function');
  });

  it.each([
    ['no-default.mjs', /has no default export \(it exports createHandler: make the factory the default export\); add `export default/],
    ['object.mjs', /the default export is an object, expected a factory function \(options, context\) => handler$/],
    ['handler-object.cjs', /the default export is an object, .*it looks like a handler itself: export a factory/],
    ['string.mjs', /the default export is a string, expected a factory function/],
    ['throws.mjs', /the factory threw: missing option "url"; fix the module or its "options"/],
    ['rejects.mjs', /the factory threw: cannot reach db/],
    ['returns-null.mjs', /the factory returned null, expected a handler object with onPacket\(packet, connection\)/],
    ['no-onpacket.mjs', /the handler's onPacket is undefined, expected a function onPacket\(packet, connection\)/],
    ['bad-close.mjs', /the handler's close is a string, expected a function \(or leave it out\)/],
    ['syntax.mjs', /importing it failed: .*; fix the module/],
    ['top-level-throw.mjs', /importing it failed: boom at load; fix the module/],
    ['missing.mjs', /cannot read .*missing\.mjs \(ENOENT.*\); fix "path" \(relative paths resolve against /],
    ['a-directory', /a-directory is not a file; point "path" at the module file/],
  ])('%s: one clear line', async (file, message) => {
    expect((await failure(file)).message).toMatch(message);
  });

  // Vitest loads modules through Vite; this checks the same loader under plain Node's import().
  it('behaves the same under plain Node: CommonJS interop, unknown extensions', async () => {
    writeFileSync(join(dir, 'handler.coffee'), 'export default -> onPacket: ->');
    const loader = pathToFileURL(join(process.cwd(), 'src/handlers/module-handler.ts')).href;
    const script = join(dir, 'plain-node.mts');
    writeFileSync(
      script,
      `import { loadModuleHandler } from ${JSON.stringify(loader)};
const log = { child: () => log };
for (const file of ['cjs.cjs', 'cjs-compiled.cjs', 'handler-object.cjs', 'handler.coffee']) {
  const path = ${JSON.stringify(dir)} + '/' + file;
  const line = await loadModuleHandler({ name: 'n', path, options: {} }, { name: 'n', log }).then(
    (h) => 'ok ' + typeof h.onPacket,
    (e) => e.message,
  );
  console.log(line);
}`,
    );
    const { stdout } = await run(process.execPath, ['--import', 'tsx', script], { cwd: process.cwd() });
    const lines = stdout.trim().split('\n');
    expect(lines.slice(0, 2)).toEqual(['ok function', 'ok function']);
    expect(lines[2]).toMatch(/the default export is an object, .*looks like a handler itself/);
    expect(lines[3]).toMatch(/handler\.coffee\): Node cannot import \.coffee files; compile it to \.js, \.mjs or \.cjs$/);
  });

  it('loads the example enrich handler, which copies the packets it keeps', async () => {
    const h = await loadModuleHandler(
      { name: 'enrich', path: 'examples/enrich-handler.mjs', options: { sites: { 'src-0': 'north' }, batchSize: 2 } },
      { name: 'enrich', log: silent, reportError: () => {}, commit: () => {}, failCommit: () => {} },
    );
    const driver = new Driver(h, connectionInfo(1));
    await driver.read(Buffer.concat([frame(0, { flags: Flags.PRIORITY }), frame(3), frame(6, { flags: Flags.PRIORITY })]));
    expect((h as unknown as { counts: Map<string, number> }).counts.get('src-0')).toBe(3);
    await h.close?.();
  });
});
