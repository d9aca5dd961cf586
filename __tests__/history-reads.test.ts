import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { bytesRead, profileSteps, type StepReads } from '../bench/profile';
import { generateEvents } from '../cli/generate';
import { Lake, lakePaths, silverTableDir } from '../local/lake';
import { runFile } from '../local/runner';
import { EVENT_EXTENTS, LOADED_DAYS } from '../workflow/tables';
import { dataExports, removeDir, tempDir } from './support/lake';

/**
 * What a day's run reads must not grow with the history it goes into: the same day into 7 and into 35
 * days of history reads the same silver partitions (its own and the neighbouring days'). Bytes, from
 * DuckDB's profiles as the bench counts them, are deterministic. (Gold is one DuckDB table locally,
 * whose zone maps prune only past a row group of 122,880 rows: the bench shows its reads at scale.)
 */
const dir = tempDir('agent-etl-history-reads-');
const EXTENSIONS = 40;
const NEXT_DAY = '2025-03-04';
const nextDay = join(dir, 'next-day.csv');
const reads = new Map<number, StepReads[]>();
const exports = new Map<number, Record<string, string>>();

function daysBefore(days: number): string {
  return new Date(Date.parse(`${NEXT_DAY}T00:00:00Z`) - days * 86_400_000).toISOString().slice(0, 10);
}

beforeAll(async () => {
  generateEvents(nextDay, { extensions: EXTENSIONS, days: 1, start: NEXT_DAY, seed: 43 });
  for (const days of [0, 7, 35]) {
    const lake = await Lake.open(join(dir, `lake-${days}`));
    try {
      if (days > 0) {
        const history = join(dir, `history-${days}.csv`);
        generateEvents(history, { extensions: EXTENSIONS, days, start: daysBefore(days), seed: 42 });
        expect((await runFile(lake, history)).status).toBe('SUCCEEDED');
      }
      const profiler = await profileSteps(lake, join(dir, `profile-${days}.json`));
      expect((await runFile(lake, nextDay)).status).toBe('SUCCEEDED');
      reads.set(days, await profiler.finish());
      exports.set(days, await dataExports(lake));
    } finally {
      lake.close();
    }
  }
}, 180_000);

afterAll(() => removeDir(dir));

const step = (days: number, name: string) => reads.get(days)?.find((s) => s.step === name);

test('every step reads silver by day: 35 days of history read what 7 days read', () => {
  const near = bytesRead(reads.get(7) ?? []);
  const far = bytesRead(reads.get(35) ?? []);
  expect(near.silver).toBeGreaterThan(0);
  // The neighbouring day is the same weekday in both; its content differs a little (other seed offsets).
  expect(far.silver).toBeLessThanOrEqual(near.silver * 1.1);
  for (const name of ['FindAffectedWindows', 'MergeIntervals', 'MergeSourceExtents', 'RecordRun']) {
    expect(step(35, name)?.silverFiles).toBeLessThanOrEqual((step(7, name)?.silverFiles ?? 0) + 2);
  }
});

test('against an empty lake, history adds only the neighbouring days and a week of extents', () => {
  const empty = bytesRead(reads.get(0) ?? []);
  const far = bytesRead(reads.get(35) ?? []);
  // The day itself; the days of the events just before it (the neighbours' partitions, here the day
  // before and the Friday before that); the extents of the week before. Not 35 days of anything.
  expect(far.silver).toBeGreaterThan(empty.silver);
  expect(far.silver).toBeLessThanOrEqual(empty.silver * 4);
  expect(step(35, 'MergeIntervals')?.silverFiles).toBeLessThanOrEqual(16);
});

test('a lake written before the day summaries gains them on open, with the same results', async () => {
  const root = join(dir, 'lake-7');
  for (const table of [EVENT_EXTENTS, LOADED_DAYS])
    rmSync(silverTableDir(lakePaths(root), table), { recursive: true, force: true });
  const lake = await Lake.open(root);
  try {
    const files = (table: typeof EVENT_EXTENTS) =>
      readdirSync(silverTableDir(lake.paths, table), { recursive: true, encoding: 'utf8' }).filter((n) =>
        n.endsWith('.parquet'),
      );
    // Two runs (history, next day): one loaded_days file each, extents for each of their days.
    expect(files(LOADED_DAYS)).toHaveLength(2);
    expect(files(EVENT_EXTENTS).length).toBeGreaterThanOrEqual(8);
    const [counts] = await lake.query(
      'select (select sum(event_count) from loaded_days) as summarized, (select count(*) from agent_events) as events',
    );
    expect(Number(counts?.summarized)).toBe(Number(counts?.events));
    // Running the next day again recomputes its windows from the rebuilt summaries: nothing changes.
    expect((await runFile(lake, nextDay)).status).toBe('SUCCEEDED');
    expect(await dataExports(lake)).toEqual(exports.get(7));
  } finally {
    lake.close();
  }
});
