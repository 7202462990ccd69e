#!/usr/bin/env node
/**
 * The `pkt-ingest` command. Exit status (README.md, OPERATIONS.md): 0 after
 * a shutdown by signal that handed every delivered frame on, 2 for a usage
 * or configuration error, 1 for a start-up failure, 3 after a shutdown
 * that could not (a handler left frames unwritten, or did not close in
 * time) or that a second signal cut short; `inspect`: 0 valid, 1 invalid,
 * 2 usage or unreadable file.
 * Messages to people are one plain line on stderr, never a stack trace.
 */
import fs from 'node:fs';
import { parseCli } from './cli/parse-args.js';
import { loadConfig, type ConfigFlags } from './config/load-config.js';
import { ConfigError, PktError, StartupError, UsageError } from './errors.js';
import { shutdownWasClean } from './handlers/close-handlers.js';
import { formatReport, inspectFile, isClean } from './inspect/inspect-file.js';
import type { DumpCommand } from './cli/tool-args.js';

function version(): string {
  const pkg = JSON.parse(fs.readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/** Flushes the log, then exits; bounded, as a stdout nobody reads must not hang the exit. */
function exitAfterFlush(log: { flush(cb?: (err?: Error) => void): void }, code: number): void {
  setTimeout(() => process.exit(code), 1000).unref();
  try {
    log.flush(() => process.exit(code));
  } catch {
    process.exit(code);
  }
}

/** Exit status after a shutdown that could not hand every delivered frame on, or was cut short. */
const EXIT_UNWRITTEN = 3;

function fail(message: string, code: number): number {
  process.stderr.write(`pkt-ingest: ${message}\n`);
  return code;
}

async function serve(configPath: string | undefined, flags: Partial<ConfigFlags>): Promise<number> {
  const config = loadConfig({ configPath, env: process.env, flags });
  // Loaded here, not at the top: `inspect` and `--help` need none of the server.
  const { IngestServer } = await import('./server.js');
  const { createLogger } = await import('./log/create-logger.js');
  const server = new IngestServer({ config, logger: await createLogger(config.log) });
  const signals: NodeJS.Signals[] = ['SIGTERM', 'SIGINT'];
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) {
      // Exit 3, like a shutdown that could not hand every frame to every handler: nothing was flushed.
      server.log.warn({ signal, exitCode: EXIT_UNWRITTEN }, 'second signal: exiting now, without flushing; frames delivered but not yet written may be lost');
      exitAfterFlush(server.log, EXIT_UNWRITTEN);
      return;
    }
    stopping = true;
    server.log.info({ signal }, 'shutting down');
    server.shutdown().then(
      (report) => exitAfterFlush(server.log, shutdownWasClean(report) ? 0 : EXIT_UNWRITTEN),
      (err: unknown) => {
        server.log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  for (const s of signals) process.on(s, onSignal);
  // SIGHUP (tls2): re-read the config; TLS files, tcp.allow and log.level apply, a bad file keeps the old setting.
  // Handled from the start (its default action ends the process); ignored until the listeners are up.
  let started = false;
  process.on('SIGHUP', () => {
    if (!started) return void server.log.warn('reload: SIGHUP ignored while starting; send it again once listening');
    try {
      server.reload(loadConfig({ configPath, env: process.env, flags }));
    } catch (err) {
      server.log.error({ error: (err as Error).message }, 'reload: configuration not loaded; nothing changed');
    }
  });
  await server.start();
  started = true;
  return -1; // keeps running until a signal
}

function inspect(file: string, json: boolean, configPath: string | undefined): number {
  const config = loadConfig({ configPath, env: process.env });
  let report;
  try {
    report = inspectFile(file, config.limits);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return fail(`inspect: no such file: ${file}`, 2);
    if (code === 'EISDIR') return fail(`inspect: ${file} is a directory, expected a capture file`, 2);
    if (code === 'EACCES') return fail(`inspect: permission denied reading ${file}`, 2);
    throw err;
  }
  process.stdout.write((json ? JSON.stringify(report) : formatReport(file, report)) + '\n');
  return isClean(report) ? 0 : 1;
}

async function dump(cmd: DumpCommand): Promise<number> {
  const { runDump } = await import('./cli/dump.js');
  const stop = new AbortController();
  process.once('SIGINT', () => stop.abort()); // --follow: Ctrl-C ends it cleanly, output flushed
  return runDump(cmd, { out: process.stdout, err: process.stderr, signal: stop.signal });
}

export async function main(argv: readonly string[]): Promise<number> {
  try {
    const cmd = parseCli(argv);
    switch (cmd.kind) {
      case 'help':
        process.stdout.write(cmd.text.endsWith('\n') ? cmd.text : `${cmd.text}\n`);
        return 0;
      case 'version':
        process.stdout.write(`${version()}\n`);
        return 0;
      case 'inspect':
        return inspect(cmd.file, cmd.json, cmd.configPath);
      case 'serve':
        return await serve(cmd.configPath, cmd.flags);
      case 'dump':
        return await dump(cmd);
      case 'replay':
        return await (await import('./cli/replay.js')).runReplay(cmd);
      case 'top':
        return await (await import('./cli/top.js')).runTop(cmd);
    }
  } catch (err) {
    if (err instanceof UsageError || err instanceof ConfigError) return fail(err.message, 2);
    if (err instanceof StartupError || err instanceof PktError) return fail(err.message, 1);
    return fail(`unexpected error: ${(err as Error).message ?? String(err)}`, 1);
  }
}

const code = await main(process.argv.slice(2));
if (code >= 0) process.exitCode = code;
