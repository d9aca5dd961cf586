import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { Command, InvalidArgumentError } from 'commander';
import { generateEvents } from '../local/generate';
import { Lake, sqlLiteral } from '../local/lake';
import { runFile } from '../local/runner';
import { measureHandlers } from './handlers';

/** What one measured child process reports. */
interface Measurement {
  readonly seconds: number;
  readonly maxRssBytes: number;
  readonly detail: string;
}

function wholeNumber(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError('expected a positive whole number');
  return n;
}

/** The floor: DuckDB reading every row of the CSV and nothing else. */
async function scanFloor(csv: string): Promise<string> {
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  const reader = await connection.runAndReadAll(
    `select count(*) as n from read_csv(${sqlLiteral(csv)}, delim = ',', quote = '"', escape = '"', header = true,
       auto_detect = false, columns = {'c0': 'varchar', 'c1': 'varchar', 'c2': 'varchar', 'c3': 'varchar'})`,
  );
  const rows = String(reader.getRowObjectsJson()[0]?.n);
  connection.closeSync();
  instance.closeSync();
  return `${rows} rows scanned`;
}

/** The whole local pipeline on a fresh lake: load, transform, weekly rollup, audit, completion event. */
async function pipeline(csv: string, lakeDir: string): Promise<string> {
  const lake = await Lake.open(lakeDir);
  try {
    const run = await runFile(lake, csv);
    if (run.status !== 'SUCCEEDED') throw new Error(`pipeline failed: ${run.error}`);
    const [counts] = await lake.query(
      'select (select count(*) from agent_intervals) as intervals, (select count(*) from weekly_summary) as weeks',
    );
    return `${counts?.intervals} intervals, ${counts?.weeks} weeks`;
  } finally {
    lake.close();
  }
}

/** Runs one measured task in a child process of its own, so wall time and peak RSS are that task's alone. */
function measure(task: 'floor' | 'pipeline', csv: string, lakeDir: string): Measurement {
  const child = spawnSync(process.execPath, [__filename, '--child', task, csv, lakeDir], {
    encoding: 'utf8',
  });
  if (child.status !== 0) throw new Error(`${task} failed:\n${child.stderr}`);
  return JSON.parse(child.stdout.trim().split('\n').at(-1) ?? '{}') as Measurement;
}

async function child(task: string, csv: string, lakeDir: string): Promise<void> {
  const started = process.hrtime.bigint();
  const detail = task === 'floor' ? await scanFloor(csv) : await pipeline(csv, lakeDir);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const measurement: Measurement = { seconds, maxRssBytes: process.resourceUsage().maxRSS * 1024, detail };
  process.stdout.write(`${JSON.stringify(measurement)}\n`);
}

const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MiB`;

async function main(): Promise<void> {
  if (process.argv[2] === '--child') {
    await child(process.argv[3] ?? '', process.argv[4] ?? '', process.argv[5] ?? '');
    return;
  }
  const options = new Command('bench')
    .description('Times the local pipeline against a bare DuckDB scan of the same CSV (the floor).')
    .option('--events <n>', 'events to generate', wholeNumber, 1_000_000)
    .option('--days <n>', 'days the events span', wholeNumber, 28)
    .option('--seed <n>', 'generator seed', wholeNumber, 42)
    .parse(process.argv)
    .opts<{ events: number; days: number; seed: number }>();

  const work = mkdtempSync(join(tmpdir(), 'agent-etl-bench-'));
  try {
    const csv = join(work, 'events.csv');
    // The generator averages about 10 events per extension and day; size the roster to reach the target.
    const extensions = Math.ceil((options.events / options.days / 10) * 1.2);
    const generated = generateEvents(csv, {
      extensions,
      days: options.days,
      start: '2024-11-04',
      seed: options.seed,
      maxEvents: options.events,
    });
    process.stdout.write(
      `input: ${generated.events.toLocaleString('en-US')} events, ${extensions} extensions, ${mib(statSync(csv).size)} CSV\n`,
    );
    const floor = measure('floor', csv, join(work, 'unused'));
    const run = measure('pipeline', csv, join(work, 'lake'));
    const rows = [
      ['floor (DuckDB count of the CSV)', floor],
      ['pipeline (agent-etl run, fresh lake)', run],
    ] as const;
    for (const [name, m] of rows) {
      const rate = Math.round(generated.events / m.seconds).toLocaleString('en-US');
      process.stdout.write(
        `${name.padEnd(38)} ${m.seconds.toFixed(2).padStart(7)} s  ${rate.padStart(11)} events/s  peak RSS ${mib(m.maxRssBytes).padStart(8)}  ${m.detail}\n`,
      );
    }
    process.stdout.write(`ratio pipeline / floor: ${(run.seconds / floor.seconds).toFixed(2)}x\n`);
    for (const handler of await measureHandlers()) {
      process.stdout.write(
        `lambda ${handler.name.padEnd(14)} bundle ${(handler.bundleBytes / 1024).toFixed(0)} KiB (limit 1024), cold module load ${handler.coldLoadMs} ms (median)\n`,
      );
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench: ${(error as Error).message}\n`);
  process.exitCode = 1;
});
