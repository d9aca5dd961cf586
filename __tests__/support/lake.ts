import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ExportName, writeExport } from '../../cli/exports';
import { runDayValues } from '../../handlers/run-failed/backstop';
import { Lake } from '../../local/lake';
import { type FileRun, runFile } from '../../local/runner';
import { renderSql } from '../../workflow/sql-template';
import { OBJECT_DAYS, RUN_DAYS, readSql } from '../../workflow/steps';

export const CASES_DIR = join(__dirname, '..', 'fixtures', 'shared-cases');

export function tempDir(prefix = 'agent-etl-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/**
 * Every value a step of a run still RUNNING takes, as the state machine makes them: its run days
 * (GetRunDays) and its object's row (GetObjectDays); what a retry of a step sends again.
 */
export async function runningStepValues(lake: Lake): Promise<{
  run_id: string;
  first_day: string;
  last_day: string;
  source_object: string;
  loaded_first_day: string;
  loaded_last_day: string;
}> {
  const [running] = await lake.query(
    `select run_id, source_object from pipeline_runs where status = 'RUNNING'`,
  );
  const runId = String(running?.run_id);
  const sourceObject = String(running?.source_object);
  const [object] = await lake.query(
    renderSql(readSql(OBJECT_DAYS.file), { run_id: runId, source_object: sourceObject }),
  );
  return {
    ...(await runDayValues(lake, readSql(RUN_DAYS.file), runId)),
    source_object: sourceObject,
    loaded_first_day: String(object?.loaded_first_day),
    loaded_last_day: String(object?.loaded_last_day),
  };
}

/** Writes a CSV with the contract's header unless the first line given is a header of its own. */
export function writeCsv(
  dir: string,
  name: string,
  rows: readonly string[],
  header = 'Done On,Extension,Action,Details',
) {
  const path = join(dir, name);
  writeFileSync(path, `${[header, ...rows].join('\n')}\n`);
  return path;
}

/** Opens the lake at `root` (made if new) for the work, and closes it after. */
export async function withLakeAt<T>(root: string, work: (lake: Lake) => Promise<T>): Promise<T> {
  const lake = await Lake.open(root);
  try {
    return await work(lake);
  } finally {
    lake.close();
  }
}

export async function withLake<T>(work: (lake: Lake, dir: string) => Promise<T>): Promise<T> {
  const dir = tempDir();
  const lake = await Lake.open(join(dir, 'lake'));
  try {
    return await work(lake, dir);
  } finally {
    lake.close();
    removeDir(dir);
  }
}

export async function ingest(lake: Lake, ...files: string[]): Promise<FileRun[]> {
  const runs: FileRun[] = [];
  for (const file of files) runs.push(await runFile(lake, file));
  return runs;
}

/** `extension|interval start` -> productive hours, for the intervals that have productive time. */
export async function productiveHours(lake: Lake): Promise<Record<string, number>> {
  const rows = await lake.query(
    `select extension, strftime(interval_start, '%Y-%m-%d %H:%M:%S') as interval_start, productive_hours
     from agent_intervals where productive_hours > 0 order by extension, interval_start`,
  );
  return Object.fromEntries(
    rows.map((r) => [`${r.extension}|${r.interval_start}`, Number(r.productive_hours)]),
  );
}

/** Every interval row: `extension|interval start` -> [hours, events]. */
export async function intervalRows(lake: Lake): Promise<Record<string, [number, number]>> {
  const rows = await lake.query(
    `select extension, strftime(interval_start, '%Y-%m-%d %H:%M:%S') as interval_start, productive_hours, event_count
     from agent_intervals order by extension, interval_start`,
  );
  return Object.fromEntries(
    rows.map((r) => [
      `${r.extension}|${r.interval_start}`,
      [Number(r.productive_hours), Number(r.event_count)],
    ]),
  );
}

export async function exportText(lake: Lake, name: ExportName): Promise<string> {
  let text = '';
  await writeExport(lake, name, 'csv', async (chunk) => {
    text += chunk;
  });
  return text;
}

/** The exports a user compares: gold and rejects (runs differ by run id and time, by design). */
export async function dataExports(lake: Lake): Promise<Record<string, string>> {
  return {
    intervals: await exportText(lake, 'intervals'),
    weekly: await exportText(lake, 'weekly'),
    rejects: await exportText(lake, 'rejects'),
  };
}

/** Floating comparison for hours worked out by hand as fractions. */
export function expectHours(actual: Record<string, number>, expected: Record<string, number>): void {
  expect(Object.keys(actual).sort()).toEqual(Object.keys(expected).sort());
  for (const [key, hours] of Object.entries(expected)) expect(actual[key]).toBeCloseTo(hours, 12);
}
