import { join } from 'node:path';
import { profileSteps } from '../bench/profile';
import { generateEvents } from '../cli/generate';
import type { Lake } from '../local/lake';
import { LOCAL_BUCKET, runFile } from '../local/runner';
import { renderSql } from '../workflow/sql-template';
import { FAILED_RUN_FILE, readSql, START_STEP } from '../workflow/steps';
import { dataExports, removeDir, tempDir, withLakeAt, writeCsv } from './support/lake';

/**
 * Which run's rows count for an object is kept in pipeline_runs' `published` column (the table's Iceberg
 * partition): a run marks the object's published run replaced as it starts, publishes itself at its
 * commit, and gives the replaced run back if it fails. Each case checks the flags, worked out by hand
 * from the runs made, and the exports against a lake that only ever saw the versions that count.
 */
const dir = tempDir('agent-etl-published-');
afterAll(() => removeDir(dir));

const KEY = 'in/day.csv';
// Monday 2024-11-04 and Tuesday: extension 200 both days, 300 on Tuesday (the first version of in/day.csv).
const first = writeCsv(dir, 'first.csv', [
  '11/4/2024 9:00:00 AM,200,LOGIN,',
  '11/4/2024 9:10:00 AM,200,ONLINE,',
  '11/4/2024 5:00:00 PM,200,LOGOUT,',
  '11/5/2024 9:00:00 AM,300,LOGIN,',
  '11/5/2024 9:05:00 AM,300,ONLINE,',
  '11/5/2024 11:00:00 AM,300,LOGOUT,',
]);
// The second version: Monday alone, 200 online for less time. Tuesday's rows of the first must go.
const second = writeCsv(dir, 'second.csv', [
  '11/4/2024 9:00:00 AM,200,LOGIN,',
  '11/4/2024 9:10:00 AM,200,ONLINE,',
  '11/4/2024 11:00:00 AM,200,LOGOUT,',
]);

type Flags = Record<string, { status: string; published: boolean | null; replaced_by: string | null }>;

async function flags(lake: Lake): Promise<Flags> {
  const rows = await lake.query('select run_id, status, published, replaced_by from pipeline_runs');
  return Object.fromEntries(
    rows.map((r) => [
      String(r.run_id),
      {
        status: String(r.status),
        published: r.published === null ? null : String(r.published) === 'true',
        replaced_by: r.replaced_by === null ? null : String(r.replaced_by),
      },
    ]),
  );
}

/** The exports of a lake that loaded only `file` as the object. */
async function only(name: string, file: string): Promise<Record<string, string>> {
  return withLakeAt(join(dir, name), async (lake) => {
    expect((await runFile(lake, file, { key: KEY })).status).toBe('SUCCEEDED');
    return dataExports(lake);
  });
}

test('a re-ingest replaces the published run; a failed one gives it back, with its results', async () => {
  const firstOnly = await only('first-only', first);
  const secondOnly = await only('second-only', second);
  expect(secondOnly.intervals).not.toEqual(firstOnly.intervals);
  await withLakeAt(join(dir, 'reingest'), async (lake) => {
    const one = await runFile(lake, first, { key: KEY, runId: 'run-1' });
    expect(one.status).toBe('SUCCEEDED');
    expect(await flags(lake)).toEqual({
      'run-1': { status: 'SUCCEEDED', published: true, replaced_by: null },
    });

    const two = await runFile(lake, second, { key: KEY, runId: 'run-2' });
    expect(two.status).toBe('SUCCEEDED');
    expect(await flags(lake)).toEqual({
      'run-1': { status: 'SUCCEEDED', published: false, replaced_by: 'run-2' },
      'run-2': { status: 'SUCCEEDED', published: true, replaced_by: null },
    });
    expect(await dataExports(lake)).toEqual(secondOnly);

    // The first version again, failing after its intervals were merged: run-2 stands again.
    process.env.AGENT_ETL_FAULT = 'MergeWeeklySummary:after';
    const three = await runFile(lake, first, { key: KEY, runId: 'run-3' }).finally(() => {
      delete process.env.AGENT_ETL_FAULT;
    });
    expect(three.status).toBe('FAILED');
    expect(await flags(lake)).toEqual({
      'run-1': { status: 'SUCCEEDED', published: false, replaced_by: 'run-2' },
      'run-2': { status: 'SUCCEEDED', published: true, replaced_by: null },
      'run-3': { status: 'FAILED', published: false, replaced_by: null },
    });
    expect(await dataExports(lake)).toEqual(secondOnly);

    // and succeeding: the first version's results, Tuesday included
    const four = await runFile(lake, first, { key: KEY, runId: 'run-4' });
    expect(four.status).toBe('SUCCEEDED');
    expect((await flags(lake))['run-2']).toEqual({
      status: 'SUCCEEDED',
      published: false,
      replaced_by: 'run-4',
    });
    expect((await flags(lake))['run-4']?.published).toBe(true);
    expect(await dataExports(lake)).toEqual(firstOnly);
  });
}, 120_000);

test('a run after a killed, unclosed run of the object takes over the run it replaced', async () => {
  const secondOnly = await only('second-only-2', second);
  await withLakeAt(join(dir, 'killed'), async (lake) => {
    expect((await runFile(lake, first, { key: KEY, runId: 'run-1' })).status).toBe('SUCCEEDED');
    // A run that started (and so replaced run-1) and was killed before anything else was recorded.
    await lake.query(
      renderSql(readSql(START_STEP.file), {
        run_id: 'run-killed',
        source_object: `${LOCAL_BUCKET}/${KEY}`,
        source_etag: 'etag',
        started_at: '2024-11-06T08:00:00Z',
      }),
    );
    expect((await flags(lake))['run-1']).toEqual({
      status: 'SUCCEEDED',
      published: false,
      replaced_by: 'run-killed',
    });
    // The next run, without the command's closing of interrupted runs: it takes run-1 over, so its
    // windows cover run-1's Tuesday, whose rows no longer count.
    expect((await runFile(lake, second, { key: KEY, runId: 'run-2' })).status).toBe('SUCCEEDED');
    expect(await flags(lake)).toEqual({
      'run-1': { status: 'SUCCEEDED', published: false, replaced_by: 'run-2' },
      'run-killed': { status: 'RUNNING', published: false, replaced_by: null },
      'run-2': { status: 'SUCCEEDED', published: true, replaced_by: null },
    });
    expect(await dataExports(lake)).toEqual(secondOnly);
  });
}, 120_000);

test('RecordRunStarted and the failure record sent again (a Step Functions retry) change nothing more', async () => {
  await withLakeAt(join(dir, 'retries'), async (lake) => {
    expect((await runFile(lake, first, { key: KEY, runId: 'run-1' })).status).toBe('SUCCEEDED');
    const values = {
      run_id: 'run-2',
      source_object: `${LOCAL_BUCKET}/${KEY}`,
      source_etag: 'etag',
      started_at: '2024-11-06T08:00:00Z',
    };
    const started = {
      'run-1': { status: 'SUCCEEDED', published: false, replaced_by: 'run-2' },
      'run-2': { status: 'RUNNING', published: false, replaced_by: null },
    };
    for (let attempt = 0; attempt < 2; attempt++) {
      await lake.query(renderSql(readSql(START_STEP.file), values));
      expect(await flags(lake)).toEqual(started);
    }
    const failed = {
      'run-1': { status: 'SUCCEEDED', published: true, replaced_by: null },
      'run-2': { status: 'FAILED', published: false, replaced_by: null },
    };
    for (let attempt = 0; attempt < 2; attempt++) {
      await lake.query(renderSql(readSql(FAILED_RUN_FILE), { ...values, error: 'LoadCsvToSilver: boom' }));
      expect(await flags(lake)).toEqual(failed);
    }
    // and a run of another object neither takes run-1 over nor gives it back
    await lake.query(
      renderSql(readSql(START_STEP.file), { ...values, run_id: 'run-3', source_object: 'bronze/other.csv' }),
    );
    expect((await flags(lake))['run-1']).toEqual(failed['run-1']);
  });
}, 120_000);

test('a lake made before the column gains it on open: the latest success of each object is published', async () => {
  const root = join(dir, 'legacy');
  await withLakeAt(root, async (lake) => {
    expect((await runFile(lake, first, { key: KEY, runId: 'run-1' })).status).toBe('SUCCEEDED');
    expect((await runFile(lake, second, { key: KEY, runId: 'run-2' })).status).toBe('SUCCEEDED');
    expect((await runFile(lake, first, { key: 'in/other.csv', runId: 'run-3' })).status).toBe('SUCCEEDED');
    await lake.exec('alter table pipeline_runs drop column published');
    await lake.exec('alter table pipeline_runs drop column replaced_by');
  });
  await withLakeAt(root, async (lake) => {
    expect(await flags(lake)).toEqual({
      'run-1': { status: 'SUCCEEDED', published: false, replaced_by: null },
      'run-2': { status: 'SUCCEEDED', published: true, replaced_by: null },
      'run-3': { status: 'SUCCEEDED', published: true, replaced_by: null },
    });
  });
}, 120_000);

test('the runs a day reads grow by at most two rows per run of history (the whole-table reads)', async () => {
  // One file and one run a weekday, as a center sends them (2024-11-04 is a Monday; with 5 agents a
  // weekend day may have no event); the same next day into 2 and into 12 days.
  const day = (n: number) =>
    new Date(Date.UTC(2024, 10, 4 + 7 * Math.floor(n / 5) + (n % 5))).toISOString().slice(0, 10);
  const files = Array.from({ length: 13 }, (_, n) => {
    const file = join(dir, `day-${day(n)}.csv`);
    generateEvents(file, { extensions: 5, days: 1, start: day(n), seed: 60 + n });
    return file;
  });
  const next = files.pop() as string;
  const rowsRead = async (history: number) =>
    withLakeAt(join(dir, `history-${history}`), async (lake) => {
      for (const file of files.slice(files.length - history))
        expect((await runFile(lake, file)).status).toBe('SUCCEEDED');
      const profiler = await profileSteps(lake, join(dir, `profile-${history}.json`));
      const run = await runFile(lake, next);
      expect(run.status).toBe('SUCCEEDED');
      const steps = await profiler.finish(run.runId);
      expect(steps.reduce((sum, s) => sum + s.unverified, 0)).toBe(0);
      return steps.reduce((sum, s) => sum + (s.partitionRows.pipeline_runs ?? 0), 0);
    });
  const short = await rowsRead(2);
  const long = await rowsRead(12);
  // RecordRunStarted's read of the published runs and its MERGE target are whole: 2 rows per run more.
  // Every other read is of the runs that do not count: this one alone, here. Before, every reference to
  // the published runs read them all (about 28 reads a run).
  expect(short).toBeGreaterThan(0);
  expect(long - short).toBeLessThanOrEqual(2 * 10);
}, 120_000);
