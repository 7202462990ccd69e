/**
 * The `module` handler: a user's JS module whose default export is a
 * factory `(options, context) => handler` (or a promise of one). Every way
 * that can go wrong ends in one HandlerModuleError line naming the handler,
 * the path, what was wrong and the fix.
 */
import { stat } from 'node:fs/promises';
import { extname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ModuleHandlerConfig } from '../config/schema.js';
import { HandlerModuleError } from '../errors.js';
import type { HandlerContext, HandlerFactory, PacketHandler } from './types.js';

export type ModuleOptions = Pick<ModuleHandlerConfig, 'name' | 'path' | 'options'>;

const OPTIONAL_METHODS = ['onBatchEnd', 'open', 'closeConnection', 'close', 'isHealthy'] as const;

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (Array.isArray(value)) return 'an array';
  const type = typeof value;
  return type === 'object' ? 'an object' : `a ${type}`;
}

function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n', 1)[0];
}

export async function loadModuleHandler(config: ModuleOptions, context: HandlerContext): Promise<PacketHandler> {
  const where = `handler "${config.name}" (module ${config.path})`;
  const fail = (problem: string, cause?: unknown) =>
    new HandlerModuleError(`${where}: ${problem}`, cause === undefined ? undefined : { cause });

  const file = resolve(process.cwd(), config.path);
  const factory = pickFactory(await importModule(file, fail), fail);

  let handler: unknown;
  try {
    handler = await factory(config.options as Record<string, unknown>, context);
  } catch (error) {
    throw fail(`the factory threw: ${firstLine(error)}; fix the module or its "options"`, error);
  }
  return checkHandler(handler, fail);
}

type Fail = (problem: string, cause?: unknown) => HandlerModuleError;

async function importModule(file: string, fail: Fail): Promise<Record<string, unknown>> {
  try {
    if (!(await stat(file)).isFile()) throw fail(`${file} is not a file; point "path" at the module file`);
  } catch (error) {
    if (error instanceof HandlerModuleError) throw error;
    throw fail(`cannot read ${file} (${firstLine(error)}); fix "path" (relative paths resolve against ${process.cwd()})`, error);
  }
  try {
    return (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ERR_UNKNOWN_FILE_EXTENSION') {
      throw fail(`Node cannot import ${extname(file)} files; compile it to .js, .mjs or .cjs`, error);
    }
    throw fail(`importing it failed: ${firstLine(error)}; fix the module`, error);
  }
}

function pickFactory(namespace: Record<string, unknown>, fail: Fail): HandlerFactory {
  let value = namespace.default;
  if (value === undefined) {
    const named = Object.keys(namespace).filter((k) => typeof namespace[k] === 'function');
    const hint = named.length > 0 ? ` (it exports ${named.join(', ')}: make the factory the default export)` : '';
    throw fail(
      `the module has no default export${hint}; add \`export default (options, context) => handler\` (CommonJS: \`module.exports = ...\`)`,
    );
  }
  // CommonJS compiled from TypeScript or Babel: `exports.default = factory` arrives as default.default.
  if (typeof value === 'object' && value !== null && typeof (value as { default?: unknown }).default === 'function') {
    value = (value as { default: unknown }).default;
  }
  if (typeof value === 'function') return value as HandlerFactory;
  const looksLikeHandler = typeof (value as { onPacket?: unknown } | null)?.onPacket === 'function';
  const fix = looksLikeHandler
    ? '; it looks like a handler itself: export a factory that returns it, e.g. `export default () => handler`'
    : '';
  throw fail(`the default export is ${describe(value)}, expected a factory function (options, context) => handler${fix}`);
}

function checkHandler(handler: unknown, fail: Fail): PacketHandler {
  if (typeof handler !== 'object' || handler === null) {
    throw fail(`the factory returned ${describe(handler)}, expected a handler object with onPacket(packet, connection)`);
  }
  const h = handler as Record<string, unknown>;
  if (typeof h.onPacket !== 'function') {
    throw fail(`the handler's onPacket is ${describe(h.onPacket)}, expected a function onPacket(packet, connection)`);
  }
  for (const name of OPTIONAL_METHODS) {
    if (h[name] !== undefined && typeof h[name] !== 'function') {
      throw fail(`the handler's ${name} is ${describe(h[name])}, expected a function (or leave it out)`);
    }
  }
  return handler as PacketHandler;
}
