/**
 * `npm run load -- …`: the TCP load generator. See HELP in ./lib/args.ts.
 * stdout: the final report only; stderr: progress (TTY only) and one plain
 * line per failure. Exit 0 success, 1 connection failure, 2 usage error.
 */
import { statSync } from 'node:fs';
import { startProgress } from '../src/cli/progress.js';
import { UsageError } from '../src/errors.js';
import { HELP, parseLoadArgs, type ParsedArgs } from './lib/args.js';
import { formatProgress, formatReport, type LoadProgress, type LoadReport } from './lib/report.js';
import { runLoad } from './lib/run-load.js';
import { LoadConnectionError } from './lib/socket-io.js';

const EXIT_OK = 0;
const EXIT_FAILURE = 1;
const EXIT_USAGE = 2;

function fail(message: string): void {
  process.stderr.write(`loadgen: ${message}\n`);
}

/** A missing replay file is a usage error (exit 2), caught before any connection is made. */
function checkReplayFile(path: string): void {
  let isFile: boolean;
  try {
    isFile = statSync(path).isFile();
  } catch (err) {
    throw new UsageError(`cannot read --replay file '${path}': ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  if (!isFile) throw new UsageError(`--replay '${path}' is not a file`);
}

async function main(argv: string[]): Promise<number> {
  let parsed: ParsedArgs;
  try {
    parsed = parseLoadArgs(argv);
    if (!parsed.help && parsed.options.replay !== undefined) {
      checkReplayFile(parsed.options.replay);
    }
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    fail(`${err.message} (see --help)`);
    return EXIT_USAGE;
  }
  if (parsed.help) {
    process.stdout.write(`${HELP}\n`);
    return EXIT_OK;
  }

  let last: LoadProgress = { packets: 0, bytes: 0, errors: 0, seconds: 0 };
  let rate = 0;
  const progress = startProgress(() => formatProgress(last, rate));
  const onProgress = (p: LoadProgress): void => {
    rate = p.seconds > last.seconds ? (p.packets - last.packets) / (p.seconds - last.seconds) : 0;
    last = p;
  };
  let report: LoadReport;
  try {
    report = await runLoad({ ...parsed.options, onProgress: progress.active ? onProgress : undefined });
  } catch (err) {
    if (!(err instanceof LoadConnectionError)) throw err;
    fail(err.message);
    return EXIT_FAILURE;
  } finally {
    progress.stop();
  }
  process.stdout.write(`${parsed.json ? JSON.stringify(report) : formatReport(report)}\n`);
  if (report.errors > 0) {
    fail(`${report.errors} of ${report.connections} connections failed; first: ${report.firstError}`);
    return EXIT_FAILURE;
  }
  return EXIT_OK;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    fail(err instanceof Error ? err.message : String(err));
    process.exitCode = EXIT_FAILURE;
  },
);
