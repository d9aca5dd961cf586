import { existsSync, lstatSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { SingleBar } from 'cli-progress';
import { Command, InvalidArgumentError, Option } from 'commander';
import { compactWarehouse, Lake, lakePaths } from '../local/lake';
import { withLakeLock } from '../local/lock';
import { type FileRun, faultFor, runFile, successPath } from '../local/runner';
import { checkAfterRun, runCheckCommand } from './check/command';
import { dataDay, dataInstant } from './days';
import { EXPORTS, type ExportFormat, type ExportName, streamSink, writeExport } from './exports';
import { generateEvents } from './generate';
import { backfillCommand, forgetCommand, processIo, rerunCommand, statusCommand } from './ops/commands';
import { closeInterrupted, LocalTarget } from './ops/local-target';
import { DEFAULT_OUTPUTS_FILE, type OpsTarget } from './ops/target';
import { openOutFile } from './out-file';
import { validateSettings } from './settings';

const DEFAULT_LAKE = 'lake';

/** Digits only, up to 2^53 - 1: `1e3`, `0x10`, `-1` and `1.5` are refused here, not by the engine. */
function positiveInteger(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n))
    throw new InvalidArgumentError('expected a whole number (digits only)');
  return n;
}

/** A real calendar day, YYYY-MM-DD: `2024-02-30` and an empty value are refused, not rolled over or ignored. */
function calendarDay(value: string): string {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  const date = match ? new Date(`${value}T00:00:00Z`) : undefined;
  if (!date || Number.isNaN(date.getTime()) || date.toISOString().slice(0, 10) !== value)
    throw new InvalidArgumentError(`expected a calendar day YYYY-MM-DD, got '${value}'`);
  return value;
}

/** A lake directory: an empty value would make the current folder a lake, so it is refused. */
function lakeDirectory(value: string): string {
  if (value.trim() === '') throw new InvalidArgumentError("expected a lake directory, got ''");
  return value;
}

/** What a path names, or why it cannot be read as a file. */
function fileProblem(path: string): string | undefined {
  const stats = statSync(path, { throwIfNoEntry: false });
  if (!stats) {
    return lstatSync(path, { throwIfNoEntry: false })?.isSymbolicLink()
      ? 'a symbolic link to nothing'
      : 'no such file or directory';
  }
  if (stats.isDirectory()) return 'a directory, not a file';
  if (!stats.isFile()) return 'not a regular file';
  return undefined;
}

/**
 * Files named on the command line; a directory stands for the .csv entries in it, in name order. An
 * entry that cannot be read as a file (a dangling link, a directory named x.csv) is one problem line;
 * the other files still run.
 */
function expandInputs(paths: readonly string[]): { files: string[]; problems: string[] } {
  const files: string[] = [];
  const problems: string[] = [];
  const take = (path: string) => {
    const problem = fileProblem(path);
    if (problem) problems.push(`${path}: ${problem}`);
    else files.push(path);
  };
  for (const path of paths) {
    if (!statSync(path, { throwIfNoEntry: false })?.isDirectory()) {
      take(path);
      continue;
    }
    readdirSync(path)
      .filter((name) => name.toLowerCase().endsWith('.csv'))
      .sort()
      .forEach((name) => {
        take(join(path, name));
      });
  }
  return { files, problems };
}

const number = (n: number) => n.toLocaleString('en-US');

interface RunRow {
  run_id: string;
  status: string;
  rows_read: string | null;
  rows_loaded: string | null;
  rows_rejected: string | null;
  intervals_touched: string | null;
  weeks_touched: string | null;
  productive_hours: number | null;
}

async function summarize(lake: Lake, runs: readonly FileRun[], seconds: number): Promise<string> {
  const rows: RunRow[] = [];
  for (const run of runs) {
    rows.push(
      ...((await lake.query(
        `select run_id, status, rows_read, rows_loaded, rows_rejected, intervals_touched, weeks_touched, productive_hours
         from pipeline_runs where run_id = ?`,
        [run.runId],
      )) as unknown as RunRow[]),
    );
  }
  const total = (key: keyof RunRow) => rows.reduce((sum, row) => sum + Number(row[key] ?? 0), 0);
  const failed = runs.filter((run) => run.status === 'FAILED').length;
  return [
    `agent-etl run: ${runs.length} file${runs.length === 1 ? '' : 's'}, ${runs.length - failed} succeeded, ${failed} failed, in ${seconds.toFixed(1)} s`,
    `  rows     read ${number(total('rows_read'))}, loaded ${number(total('rows_loaded'))}, rejected ${number(total('rows_rejected'))}`,
    `  gold     ${number(total('intervals_touched'))} intervals and ${number(total('weeks_touched'))} weeks recomputed, ${total('productive_hours').toLocaleString('en-US', { maximumFractionDigits: 2, minimumFractionDigits: 2 })} productive hours in them`,
    ...(total('rows_rejected') > 0 ? ['  rejected rows: agent-etl export rejects'] : []),
  ].join('\n');
}

async function runCommand(
  inputs: string[],
  options: { lake: string; wait: number; check: boolean; key?: string },
): Promise<number> {
  faultFor(process.env);
  const { files, problems } = expandInputs(inputs);
  if (files.length === 0 && problems.length === 0)
    throw new InvalidArgumentError(`no .csv files in ${inputs.join(', ')}`);
  if (files.length === 0) {
    for (const problem of problems) process.stderr.write(`error: ${problem}\n`);
    return 1;
  }
  if (options.key && files.length > 1)
    throw new InvalidArgumentError('--key names one object: give one file');
  return withLakeLock(options.lake, options.wait, async () => {
    const lake = await Lake.open(options.lake);
    const interrupted = await closeInterrupted(lake, (text) => process.stderr.write(text));
    const bar = process.stderr.isTTY
      ? new SingleBar({
          format: '{bar} {percentage}% | {file} | {state}',
          stream: process.stderr,
          hideCursor: true,
          clearOnComplete: true,
        })
      : undefined;
    const steps = successPath();
    bar?.start(files.length * steps.length, 0, { file: '', state: '' });
    const started = process.hrtime.bigint();
    const runs: FileRun[] = [];
    const checks: string[] = [];
    // One line per file that failed, in order; a file's error never stops the files after it.
    const errors = problems.map((problem) => `error: ${problem}`);
    const checkFailures = new Set<string>();
    try {
      for (const [index, file] of files.entries()) {
        try {
          const run = await runFile(lake, file, {
            onState: (state) => {
              const step = steps.indexOf(state);
              if (step >= 0) bar?.update(index * steps.length + step + 1, { file, state });
            },
            ...(options.key ? { key: options.key } : {}),
          });
          runs.push(run);
          if (run.status === 'FAILED') {
            errors.push(`error: ${file}: ${(run.error ?? 'failed').replace(`${run.sourceObject}: `, '')}`);
          }
          bar?.update((index + 1) * steps.length, { file, state: run.status });
        } catch (error) {
          errors.push(`error: ${file}: ${(error as Error).message}`);
        }
      }
      bar?.stop();
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      // As in AWS, where EventBridge hands each completion event to check-summary after the execution
      // ended: the check never holds up or fails a run.
      for (const run of [...interrupted, ...runs]) {
        if (options.check && run.completion) {
          const { summary, failure } = await checkAfterRun(options.lake, run.completion, lake);
          checks.push(summary);
          if (failure) checkFailures.add(failure);
        }
      }
      process.stdout.write(`${await summarize(lake, runs, seconds)}\n`);
      const coverage = checks.join('').trimEnd();
      if (coverage)
        process.stdout.write(
          `coverage of the days the runs touched (details: agent-etl check --day DAY):\n${coverage}\n`,
        );
      for (const line of errors) process.stderr.write(`${line}\n`);
      for (const failure of checkFailures)
        process.stderr.write(`error: the coverage check failed (the runs are committed): ${failure}\n`);
      return errors.length > 0 || checkFailures.size > 0 ? 1 : 0;
    } finally {
      bar?.stop();
      lake.close();
    }
  });
}

/**
 * Reading commands need a lake that a run created; a mistyped --lake should not print an empty table.
 * `stat`, not `existsSync`: access(2) judges by the real user and ignores capabilities, so a reader
 * granted CAP_DAC_READ_SEARCH would be told there is no lake it can in fact open.
 */
function assertLakeExists(root: string): void {
  if (!statSync(lakePaths(root).warehouse, { throwIfNoEntry: false })) {
    throw new InvalidArgumentError(
      `no lake at ${resolve(root)}: run \`agent-etl run FILE --lake ${root}\` first`,
    );
  }
}

/**
 * A file written into the lake could replace its database or its files: refused, for every command
 * that writes a file of its own (`export --out`, `report --out`).
 */
function assertOutsideLake(out: string, lake: string, what: 'export' | 'report'): void {
  const real = (path: string): string => {
    const parent = dirname(path);
    if (existsSync(path)) return realpathSync(path);
    return parent === path ? path : join(real(parent), basename(path));
  };
  const lakeDir = real(resolve(lake));
  const target = real(resolve(out));
  if (target === lakeDir || target.startsWith(`${lakeDir}${sep}`)) {
    throw new InvalidArgumentError(
      `--out ${out} is inside the lake ${lakeDir}; write the ${what} to a file outside it`,
    );
  }
}

async function exportCommand(
  table: ExportName,
  options: { lake: string; format: ExportFormat; out?: string; limit?: number; wait: number },
): Promise<number> {
  assertLakeExists(options.lake);
  if (options.out) assertOutsideLake(options.out, options.lake, 'export');
  return withLakeLock(
    options.lake,
    options.wait,
    async () => {
      // Opened first, so that a file that cannot be written is an error before the lake is read.
      const file = options.out === undefined ? undefined : openOutFile(options.out);
      try {
        const lake = await Lake.open(options.lake, { readOnly: true });
        try {
          await writeExport(
            lake,
            table,
            options.format,
            streamSink(file?.stream ?? process.stdout),
            options.limit,
          );
        } finally {
          lake.close();
        }
        await file?.commit();
        return 0;
      } catch (error) {
        file?.abandon();
        throw error;
      }
    },
    { reader: true },
  );
}

// Operations: status, rerun, backfill, on the local lake (default) or a deployed environment (--aws).
interface TargetOptions {
  lake: string;
  wait: number;
  aws: boolean;
  env?: string;
  region?: string;
  outputs: string;
  timezone?: string;
  check: boolean;
}

/**
 * `backfill` may start a lake; the others need one a run created, as `export` does. `status` only
 * reads: it works on a lake this user cannot write, as `export` does.
 */
async function withOpsTarget(
  options: TargetOptions,
  use: 'read' | 'write' | 'create',
  work: (target: OpsTarget) => Promise<number>,
): Promise<number> {
  if (options.aws) {
    if (!options.env) throw new InvalidArgumentError('--aws needs --env dev|prod');
    // Loaded only for --aws: the SDK clients would add most of a second to every local command.
    const { AwsTarget } = await import('./ops/aws-target');
    return work(
      AwsTarget.create({
        environment: options.env,
        region: options.region,
        outputsFile: options.outputs,
        timeZone: options.timezone,
      }),
    );
  }
  if (use !== 'create') assertLakeExists(options.lake);
  const readOnly = use === 'read';
  return withLakeLock(
    options.lake,
    options.wait,
    async () => {
      const lake = await Lake.open(options.lake, { readOnly });
      try {
        return await work(
          new LocalTarget(lake, {
            root: options.lake,
            check: options.check,
            timeZone: options.timezone,
            stderr: (text) => process.stderr.write(text),
          }),
        );
      } finally {
        lake.close();
      }
    },
    { reader: readOnly },
  );
}

function addOpsCommands(program: Command, setExitCode: (code: number) => void): void {
  const targetOptions = (command: Command) =>
    command
      .addOption(
        new Option('--lake <dir>', 'lake directory (the default target)')
          .argParser(lakeDirectory)
          .default(DEFAULT_LAKE),
      )
      .addOption(
        new Option('--wait <seconds>', 'how long to wait for another command using the lake')
          .argParser(positiveInteger)
          .default(60),
      )
      .addOption(
        new Option('--aws', 'act on a deployed environment instead of the lake')
          .default(false)
          .conflicts('lake'),
      )
      .addOption(new Option('--env <environment>', 'environment of stacks/config.ts (with --aws)'))
      .addOption(
        new Option('--region <region>', "AWS region (default: the environment's, from stacks/config.ts)"),
      )
      .addOption(
        new Option(
          '--outputs <file>',
          'stack outputs JSON from `cdktf output ENV --outputs-file FILE` (with --aws)',
        ).default(DEFAULT_OUTPUTS_FILE),
      )
      .option(
        '--timezone <zone>',
        "IANA time zone of the days (default: AGENT_ETL_TIMEZONE, or the environment's)",
      );
  const dayOption = (flag: string, what: string) =>
    new Option(`${flag} <day>`, `${what}, YYYY-MM-DD`).argParser((value: string) => dataDay(value));

  targetOptions(
    program
      .command('status')
      .description(
        'runs of the last days, objects to rerun, coverage of each day; exit 3 on gaps or failed runs',
      )
      .addOption(new Option('--days <n>', 'how many days').argParser(positiveInteger).default(7))
      .addOption(
        new Option('--until <day>', 'last day of the coverage, YYYY-MM-DD (default: yesterday)').argParser(
          (value: string) => dataDay(value),
        ),
      )
      .option('--json', 'print the status as JSON', false),
  ).action(async (options: TargetOptions & { days: number; until?: string; json: boolean }) => {
    setExitCode(
      await withOpsTarget(options, 'read', (target) => statusCommand(target, options, processIo())),
    );
  });

  targetOptions(
    program
      .command('rerun')
      .description('run objects again through the normal path, one at a time')
      .argument('[objects...]', 'objects as status lists them: bucket/key (locally bronze/<key>)')
      .option('--failed', 'every object whose latest run failed or did not finish', false)
      .option('--no-check', 'skip the coverage check after each local run'),
  ).action(async (objects: string[], options: TargetOptions & { failed: boolean }) => {
    setExitCode(
      await withOpsTarget(options, 'write', (target) => rerunCommand(target, objects, options, processIo())),
    );
  });

  targetOptions(
    program
      .command('forget')
      .description(
        'withdraw objects whose bronze copy is lost: their rows stop counting, rerun --failed and status stop asking for them',
      )
      .argument('<objects...>', 'objects as status lists them: bronze/<key>')
      .option('--no-check', 'skip the coverage check after each withdrawal'),
  ).action(async (objects: string[], options: TargetOptions) => {
    setExitCode(
      await withOpsTarget(options, 'write', (target) => forgetCommand(target, objects, processIo())),
    );
  });

  targetOptions(
    program
      .command('backfill')
      .description(
        'ingest every .csv under a folder (or s3://bucket/prefix), in date order, skipping what is loaded',
      )
      .argument('<source>', 'a folder (local) or s3://bronze-bucket/prefix, or a key prefix (--aws)')
      .addOption(dayOption('--since', 'first day, by the date in the object names'))
      .addOption(dayOption('--until', 'last day, by the date in the object names'))
      .option('--no-check', 'skip the coverage check after each local run'),
  ).action(async (source: string, options: TargetOptions & { since?: string; until?: string }) => {
    setExitCode(
      await withOpsTarget(options, 'create', (target) =>
        backfillCommand(target, source, options, processIo()),
      ),
    );
  });
}

function buildProgram(setExitCode: (code: number) => void): Command {
  const program = new Command('agent-etl')
    .description('Productive hours per extension and 30-minute interval, from contact-center agent events.')
    .showHelpAfterError()
    // One settings check for every command that reads them, before it does any work: a bad value is
    // one line naming the variable. `generate` writes a file and reads no setting.
    .hook('preAction', async (_program, command) => {
      if (command.name() !== 'generate') await validateSettings(process.env);
    });
  const lakeOption = () =>
    new Option('--lake <dir>', 'lake directory').argParser(lakeDirectory).default(DEFAULT_LAKE);
  const waitOption = () =>
    new Option('--wait <seconds>', 'how long to wait for another command using the lake')
      .argParser(positiveInteger)
      .default(60);

  program
    .command('run')
    .description('ingest CSV files (or directories of them) through the local state machine')
    .argument('<paths...>', 'CSV files or directories')
    .addOption(lakeOption())
    .addOption(waitOption())
    .option('--no-check', 'skip the coverage check after each run')
    .option('--key <key>', "the object key in bronze (default: the file's absolute path)")
    .action(
      async (paths: string[], options: { lake: string; wait: number; check: boolean; key?: string }) => {
        setExitCode(await runCommand(paths, options));
      },
    );

  program
    .command('export')
    .description('print a table of the lake')
    .addArgument(program.createArgument('<table>', 'what to print').choices(EXPORTS))
    .addOption(lakeOption())
    .addOption(new Option('--format <format>', 'output format').choices(['csv', 'json']).default('csv'))
    .option('--out <file>', 'write to a file instead of standard output')
    .addOption(new Option('--limit <rows>', 'print at most this many rows').argParser(positiveInteger))
    .addOption(waitOption())
    .action(async (table: ExportName, options) => {
      setExitCode(await exportCommand(table, options));
    });

  program
    .command('compact')
    .description(
      "rewrite the lake's database file without the space earlier runs left (locally, what the scheduled Iceberg OPTIMIZE and VACUUM do in AWS)",
    )
    .addOption(lakeOption())
    .addOption(waitOption())
    .action(async (options: { lake: string; wait: number }) => {
      assertLakeExists(options.lake);
      const { before, after } = await withLakeLock(options.lake, options.wait, () =>
        compactWarehouse(options.lake),
      );
      const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;
      process.stdout.write(`${lakePaths(options.lake).warehouse}: ${mib(before)} -> ${mib(after)}\n`);
    });

  program
    .command('check')
    .description('count the 30-minute intervals with data in a day or a 24-hour window; alert on gaps')
    .addOption(lakeOption())
    .addOption(
      new Option('--day <date>', 'calendar day to check, YYYY-MM-DD (default: yesterday)')
        .argParser((value: string) => dataDay(value))
        .conflicts('end'),
    )
    .addOption(
      new Option(
        '--end <timestamp>',
        "end (exclusive) of the 24 hours to check, 'YYYY-MM-DD HH:MM:SS'",
      ).argParser((value: string) => dataInstant(value)),
    )
    .option('--timezone <zone>', 'IANA time zone of the contact center (default: AGENT_ETL_TIMEZONE or UTC)')
    .option('--json', 'print the result as JSON', false)
    .addOption(waitOption())
    .action(
      async (options: {
        lake: string;
        day?: string;
        end?: string;
        timezone?: string;
        json: boolean;
        wait: number;
      }) => {
        assertLakeExists(options.lake);
        const result = await withLakeLock(options.lake, options.wait, async () => {
          const lake = await Lake.open(options.lake);
          try {
            return await runCheckCommand(options, lake);
          } finally {
            lake.close();
          }
        });
        process.stdout.write(result.stdout);
        if (result.stderr) process.stderr.write(`${result.stderr}\n`);
        setExitCode(result.exitCode);
      },
    );

  program
    .command('report')
    .description('write one self-contained HTML page: coverage, productive hours, runs and rejected rows')
    .addOption(lakeOption())
    .option('--out <file>', 'HTML file to write', 'report.html')
    .addOption(
      new Option('--from <date>', 'first day, YYYY-MM-DD (default: 13 days before --to)').argParser(
        (value: string) => dataDay(value),
      ),
    )
    .addOption(
      new Option('--to <date>', 'last day, YYYY-MM-DD (default: the last day with data)').argParser(
        (value: string) => dataDay(value),
      ),
    )
    .option('--timezone <zone>', 'IANA time zone of the contact center (default: AGENT_ETL_TIMEZONE or UTC)')
    .addOption(waitOption())
    .action(
      async (options: {
        lake: string;
        out: string;
        from?: string;
        to?: string;
        timezone?: string;
        wait: number;
      }) => {
        assertLakeExists(options.lake);
        assertOutsideLake(options.out, options.lake, 'report');
        // Loaded on demand: the charting library takes half a second to load, which other commands skip.
        const { writeReport } = await import('./report/command');
        // It only reads: like export, it works on a lake this user cannot write.
        const path = await withLakeLock(options.lake, options.wait, () => writeReport(options), {
          reader: true,
        });
        process.stdout.write(`${path}\n`);
      },
    );

  program
    .command('generate')
    .description('write realistic synthetic agent events (deterministic for a seed)')
    .requiredOption('--out <file>', 'CSV file to write')
    .addOption(new Option('--extensions <n>', 'agent extensions').argParser(positiveInteger).default(50))
    .addOption(new Option('--days <n>', 'days').argParser(positiveInteger).default(7))
    .addOption(
      new Option('--start <date>', 'first day, YYYY-MM-DD').argParser(calendarDay).default('2024-11-04'),
    )
    .addOption(new Option('--seed <n>', 'random seed').argParser(positiveInteger).default(1))
    .addOption(new Option('--events <n>', 'stop after this many events').argParser(positiveInteger))
    .option('--around-the-clock', 'a 24/7 center: three desk agents cover every hour of every day', false)
    .option('--outage-start <time>', "a phone-system outage from 'YYYY-MM-DD HH:MM': every agent logged out")
    .addOption(
      new Option('--outage-minutes <n>', 'how long the outage lasts').argParser(positiveInteger).default(120),
    )
    .action((options) => {
      const result = generateEvents(resolve(options.out), {
        extensions: options.extensions,
        days: options.days,
        start: options.start,
        seed: options.seed,
        maxEvents: options.events,
        aroundTheClock: options.aroundTheClock,
        outage: options.outageStart
          ? { start: options.outageStart, minutes: options.outageMinutes }
          : undefined,
      });
      process.stdout.write(
        `wrote ${number(result.events)} events (${number(result.bytes)} bytes) to ${options.out}\n`,
      );
    });

  addOpsCommands(program, setExitCode);

  return program;
}

async function main(): Promise<void> {
  let exitCode = 0;
  const program = buildProgram((code) => {
    exitCode = code;
  });
  try {
    await program.parseAsync(process.argv);
  } catch (error) {
    process.stderr.write(`error: ${(error as Error).message}\n`);
    exitCode = 1;
  }
  process.exitCode = exitCode;
}

void main();
