import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Lake } from '../local/lake';
import { closeInterruptedRuns, runFile } from '../local/runner';
import { ExecutionAbortedError } from '../local/step-functions';
import { normalizeSql, renderSql } from '../workflow/sql-template';
import { PIPELINE_STEPS, RUN_DAYS, readSql, UNDO_STEPS } from '../workflow/steps';
import { dataExports, removeDir, runningStepValues, tempDir, withLakeAt, writeCsv } from './support/lake';

/**
 * Gold is written by two statements: MergeIntervals (03_merge_intervals.sql) for the windows that hold
 * rows, AppendIntervals (04_append_intervals.sql, an INSERT) for those that hold none. Which statement
 * wrote what is read from DuckDB's answer to each (the rows a MERGE or INSERT changed).
 */
const dir = tempDir('agent-etl-append-');
afterAll(() => removeDir(dir));

const MERGE = normalizeSql(readSql('pipeline/03_merge_intervals.sql')).split('{')[0] as string;
const APPEND = normalizeSql(readSql('pipeline/04_append_intervals.sql')).split('{')[0] as string;

// Monday 2024-11-04: extensions 200 and 300.
const monday = writeCsv(dir, 'monday.csv', [
  '11/4/2024 9:00:00 AM,200,LOGIN,',
  '11/4/2024 9:10:00 AM,200,ONLINE,',
  '11/4/2024 12:40:00 PM,200,OFFLINE,Lunch',
  '11/4/2024 1:20:00 PM,200,ONLINE,',
  '11/4/2024 5:00:00 PM,200,LOGOUT,',
  '11/4/2024 10:00:00 AM,300,LOGIN,',
  '11/4/2024 10:05:00 AM,300,OFFLINE,Backoffice',
  '11/4/2024 11:50:00 AM,300,LOGOUT,',
]);
// Tuesday: 200 again (its window reaches back to Monday's logout), and 400, new to the lake.
const tuesday = writeCsv(dir, 'tuesday.csv', [
  '11/5/2024 9:00:00 AM,200,LOGIN,',
  '11/5/2024 9:10:00 AM,200,ONLINE,',
  '11/5/2024 3:00:00 PM,200,LOGOUT,',
  '11/5/2024 8:00:00 AM,400,LOGIN,',
  '11/5/2024 8:15:00 AM,400,REMVCEON,',
  '11/5/2024 9:45:00 AM,400,LOGOUT,',
]);
// Both days as one object: what the two runs together must give.
const both = writeCsv(dir, 'both.csv', [
  '11/4/2024 9:00:00 AM,200,LOGIN,',
  '11/4/2024 9:10:00 AM,200,ONLINE,',
  '11/4/2024 12:40:00 PM,200,OFFLINE,Lunch',
  '11/4/2024 1:20:00 PM,200,ONLINE,',
  '11/4/2024 5:00:00 PM,200,LOGOUT,',
  '11/4/2024 10:00:00 AM,300,LOGIN,',
  '11/4/2024 10:05:00 AM,300,OFFLINE,Backoffice',
  '11/4/2024 11:50:00 AM,300,LOGOUT,',
  '11/5/2024 9:00:00 AM,200,LOGIN,',
  '11/5/2024 9:10:00 AM,200,ONLINE,',
  '11/5/2024 3:00:00 PM,200,LOGOUT,',
  '11/5/2024 8:00:00 AM,400,LOGIN,',
  '11/5/2024 8:15:00 AM,400,REMVCEON,',
  '11/5/2024 9:45:00 AM,400,LOGOUT,',
]);
// A new version of the Monday object without extension 300.
const mondayWithout300 = writeCsv(dir, 'monday-v2.csv', [
  '11/4/2024 9:00:00 AM,200,LOGIN,',
  '11/4/2024 9:10:00 AM,200,ONLINE,',
  '11/4/2024 12:40:00 PM,200,OFFLINE,Lunch',
  '11/4/2024 1:20:00 PM,200,ONLINE,',
  '11/4/2024 5:00:00 PM,200,LOGOUT,',
]);

/** Runs `work` with every statement's answer recorded: how many rows the gold writes changed. */
async function gold<T>(
  lake: Lake,
  work: () => Promise<T>,
): Promise<{ merged: number[]; appended: number[] }> {
  const merged: number[] = [];
  const appended: number[] = [];
  const query = lake.query.bind(lake);
  const spy = jest.spyOn(lake, 'query').mockImplementation(async (sql, parameters) => {
    const rows = await query(sql, parameters);
    const changed = Number(rows[0]?.Count ?? Number.NaN);
    if (sql.startsWith(MERGE)) merged.push(changed);
    if (sql.startsWith(APPEND)) appended.push(changed);
    return rows;
  });
  try {
    await work();
  } finally {
    spy.mockRestore();
  }
  return { merged, appended };
}

async function rowsOf(lake: Lake, extension?: string): Promise<number> {
  const [row] = await lake.query(
    `select count(*) as n from agent_intervals${extension ? ' where extension = ?' : ''}`,
    extension ? [extension] : [],
  );
  return Number(row?.n);
}

/** Keys held more than once (the natural key is unique; nothing enforces it). */
async function duplicateKeys(lake: Lake): Promise<number> {
  const [row] = await lake.query(
    'select count(*) as n from (select extension, interval_start from agent_intervals group by 1, 2 having count(*) > 1)',
  );
  return Number(row?.n);
}

let clean: Record<string, string>;
let mondayOnly: Record<string, string>;
beforeAll(async () => {
  clean = await withLakeAt(join(dir, 'clean'), async (lake) => {
    expect((await runFile(lake, both, { key: 'in/both.csv' })).status).toBe('SUCCEEDED');
    return dataExports(lake);
  });
  mondayOnly = await withLakeAt(join(dir, 'monday-only'), async (lake) => {
    expect((await runFile(lake, monday, { key: 'in/monday.csv' })).status).toBe('SUCCEEDED');
    return dataExports(lake);
  });
}, 60_000);

test('the append statement carries the same rule as the merge, CTE for CTE', () => {
  const rule = (file: string) => {
    const text = normalizeSql(readSql(file));
    const start = text.indexOf('window_range as (');
    const end = text.indexOf('interval_totals as (');
    const totals = text.slice(end, text.indexOf(')', text.indexOf('group by', end)) + 1);
    expect(start).toBeGreaterThan(0);
    return text.slice(start, end) + totals;
  };
  expect(rule('pipeline/04_append_intervals.sql')).toBe(rule('pipeline/03_merge_intervals.sql'));
  expect(PIPELINE_STEPS.map((s) => s.state).slice(2, 4)).toEqual(['MergeIntervals', 'AppendIntervals']);
  expect(UNDO_STEPS.map((s) => s.state).slice(0, 2)).toEqual(['UndoMergeIntervals', 'UndoAppendIntervals']);
});

test('a first load goes through the INSERT; a day into history through the MERGE, a new extension through the INSERT', async () => {
  await withLakeAt(join(dir, 'two-days'), async (lake) => {
    const first = await gold(lake, async () => {
      expect((await runFile(lake, monday, { key: 'in/monday.csv' })).status).toBe('SUCCEEDED');
    });
    const mondayRows = await rowsOf(lake);
    expect(mondayRows).toBeGreaterThan(10);
    expect(first).toEqual({ merged: [0], appended: [mondayRows] });

    const before200 = await rowsOf(lake, '200');
    const second = await gold(lake, async () => {
      expect((await runFile(lake, tuesday, { key: 'in/tuesday.csv' })).status).toBe('SUCCEEDED');
    });
    // 200's window starts at Monday's 17:00 interval, which holds a row: merged (Tuesday's rows inserted
    // by the MERGE). 400 has no rows anywhere: appended, all its rows.
    expect(second.merged).toHaveLength(1);
    expect(second.merged[0]).toBe((await rowsOf(lake, '200')) - before200);
    expect(second.appended).toEqual([await rowsOf(lake, '400')]);
    expect(second.appended[0]).toBeGreaterThan(0);
    expect(await duplicateKeys(lake)).toBe(0);
    expect(await dataExports(lake)).toEqual(clean);
  });
}, 60_000);

test("a first load's rows are stored in interval order, so a later run's day bounds skip the rest", async () => {
  await withLakeAt(join(dir, 'stored-order'), async (lake) => {
    expect((await runFile(lake, both, { key: 'in/both.csv' })).status).toBe('SUCCEEDED');
    // rowid is the storage order; 200, 300 and 400 are spread over both days, so any other order breaks it
    const [row] = await lake.query(
      `select count(*) as rows, count(*) filter (where interval_start < previous) as out_of_order
       from (select interval_start, lag(interval_start) over (order by rowid) as previous from agent_intervals)`,
    );
    expect(Number(row?.rows)).toBeGreaterThan(20);
    expect(Number(row?.out_of_order)).toBe(0);
  });
}, 60_000);

test('a backfill before the history: no event before its window, but rows in it, so the MERGE takes it', async () => {
  const sunday = writeCsv(dir, 'sunday.csv', [
    '11/3/2024 10:00:00 PM,200,LOGIN,',
    '11/3/2024 10:10:00 PM,200,ONLINE,',
  ]);
  const sundayAndMonday = writeCsv(dir, 'sunday-and-monday.csv', [
    '11/3/2024 10:00:00 PM,200,LOGIN,',
    '11/3/2024 10:10:00 PM,200,ONLINE,',
    ...readFileSync(monday, 'utf8').trim().split('\n').slice(1),
  ]);
  const expected = await withLakeAt(join(dir, 'backfill-clean'), async (lake) => {
    expect((await runFile(lake, sundayAndMonday, { key: 'in/all.csv' })).status).toBe('SUCCEEDED');
    return dataExports(lake);
  });
  await withLakeAt(join(dir, 'backfill'), async (lake) => {
    expect((await runFile(lake, monday, { key: 'in/monday.csv' })).status).toBe('SUCCEEDED');
    const before = await rowsOf(lake, '200');
    const writes = await gold(lake, async () => {
      expect((await runFile(lake, sunday, { key: 'in/sunday.csv' })).status).toBe('SUCCEEDED');
    });
    // 200 is online from Sunday 22:10 to its Monday login at 9:00: the window reaches Monday's rows.
    const [window] = await lake.query(
      `select read_from, strftime(window_end, '%Y-%m-%d %H:%M') as window_end from affected_windows where extension = '200' order by window_end desc limit 1`,
    );
    expect(window).toEqual({ read_from: null, window_end: '2024-11-04 09:30' });
    expect(writes.merged).toEqual([(await rowsOf(lake, '200')) - before]);
    expect(writes.appended).toEqual([0]);
    expect(await dataExports(lake)).toEqual(expected);
  });
}, 60_000);

test('a retry of AppendIntervals after its commit inserts nothing more', async () => {
  await withLakeAt(join(dir, 'retry'), async (lake) => {
    // The execution stops as it enters MergeWeeklySummary: AppendIntervals committed, its answer unused.
    const stopped = await runFile(lake, monday, { key: 'in/monday.csv', interruptAt: 'MergeWeeklySummary' })
      .then(() => undefined)
      .catch((error: unknown) => error);
    expect(stopped).toBeInstanceOf(ExecutionAbortedError);
    const appended = await rowsOf(lake);
    expect(appended).toBeGreaterThan(10);

    // What a Step Functions retry sends: the same text again.
    const values = await runningStepValues(lake);
    const runId = values.run_id;
    const retry = await lake.query(renderSql(readSql('pipeline/04_append_intervals.sql'), values));
    expect(Number(retry[0]?.Count)).toBe(0);
    expect(await rowsOf(lake)).toBe(appended);
    expect(await duplicateKeys(lake)).toBe(0);

    // The rest of the run, as the state machine would go on after the retry: the clean result.
    const after = PIPELINE_STEPS.findIndex((step) => step.state === 'AppendIntervals') + 1;
    for (const step of PIPELINE_STEPS.slice(after)) {
      await lake.query(renderSql(readSql(step.file), values));
    }
    const [row] = await lake.query('select status, intervals_touched from pipeline_runs where run_id = ?', [
      runId,
    ]);
    expect(row).toEqual({ status: 'SUCCEEDED', intervals_touched: String(appended) });
    expect(await dataExports(lake)).toEqual(mondayOnly);
  });
}, 60_000);

test("the finished runs' windows are cleared before the steps that read windows, which see the run's alone", async () => {
  await withLakeAt(join(dir, 'cleared'), async (lake) => {
    const first = await runFile(lake, monday, { key: 'in/monday.csv' });
    expect(first.status).toBe('SUCCEEDED');
    const mondayExports = await dataExports(lake);
    const windowsOf = async () =>
      (await lake.query('select distinct run_id from affected_windows order by run_id')).map((r) => r.run_id);
    // A finished run keeps its windows until the next run.
    expect(await windowsOf()).toEqual([first.runId]);
    // The next run stops as it enters FindRunDays: FindAffectedWindows and ClearFinishedWindows committed.
    const stopped = await runFile(lake, tuesday, {
      key: 'in/tuesday.csv',
      interruptAt: RUN_DAYS.state,
    }).catch((error: unknown) => error);
    expect(stopped).toBeInstanceOf(ExecutionAbortedError);
    const [running] = await lake.query(`select run_id from pipeline_runs where status = 'RUNNING'`);
    expect(await windowsOf()).toEqual([running?.run_id]);
    // Nothing of it was merged yet; the next command closes it and leaves Monday's data as it was.
    expect(await closeInterruptedRuns(lake)).toHaveLength(1);
    expect(await dataExports(lake)).toEqual(mondayExports);
  });
}, 60_000);

test('a run killed after its append is undone by the next command', async () => {
  await withLakeAt(join(dir, 'killed'), async (lake) => {
    const empty = await dataExports(lake);
    await runFile(lake, monday, { key: 'in/monday.csv', interruptAt: 'MergeWeeklySummary' }).catch(
      () => undefined,
    );
    expect(await rowsOf(lake)).toBeGreaterThan(10);
    expect(await closeInterruptedRuns(lake)).toHaveLength(1);
    expect(await rowsOf(lake)).toBe(0);
    expect(await dataExports(lake)).toEqual(empty);
  });
}, 60_000);

test.each(['AppendIntervals:after', 'MergeWeeklySummary:after', 'RecordRun:after'])(
  '%s on a first load: the appended rows are undone',
  async (fault) => {
    await withLakeAt(join(dir, `first-${fault.replace(':', '-')}`), async (lake) => {
      const empty = await dataExports(lake);
      process.env.AGENT_ETL_FAULT = fault;
      const writes = await gold(lake, async () => {
        const failed = await runFile(lake, monday, { key: 'in/monday.csv' }).finally(() => {
          delete process.env.AGENT_ETL_FAULT;
        });
        expect(failed.status).toBe('FAILED');
      });
      // The append committed once; its retries (Step Functions retries a failed task, here after the
      // commit) and the undo append inserted nothing; the undo merge deleted what it had inserted.
      const [inserted = 0, ...again] = writes.appended;
      expect(inserted).toBeGreaterThan(10);
      expect(again.length).toBe(fault === 'AppendIntervals:after' ? 5 : 1);
      expect(again.every((n) => n === 0)).toBe(true);
      expect(writes.merged.at(-1)).toBe(inserted);
      expect(await rowsOf(lake)).toBe(0);
      expect(await dataExports(lake)).toEqual(empty);
      expect((await runFile(lake, monday, { key: 'in/monday.csv' })).status).toBe('SUCCEEDED');
      expect(await dataExports(lake)).toEqual(mondayOnly);
    });
  },
  60_000,
);

test('AppendIntervals:after on a day into history: the new extension is undone, the history stands', async () => {
  await withLakeAt(join(dir, 'history-fault'), async (lake) => {
    expect((await runFile(lake, monday, { key: 'in/monday.csv' })).status).toBe('SUCCEEDED');
    process.env.AGENT_ETL_FAULT = 'AppendIntervals:after';
    const failed = await runFile(lake, tuesday, { key: 'in/tuesday.csv' }).finally(() => {
      delete process.env.AGENT_ETL_FAULT;
    });
    expect(failed.status).toBe('FAILED');
    expect(await rowsOf(lake, '400')).toBe(0);
    expect(await dataExports(lake)).toEqual(mondayOnly);
  });
}, 60_000);

test('a window the failed run emptied is filled again by UndoAppendIntervals', async () => {
  await withLakeAt(join(dir, 'emptied'), async (lake) => {
    expect((await runFile(lake, monday, { key: 'in/monday.csv' })).status).toBe('SUCCEEDED');
    const rows300 = await rowsOf(lake, '300');
    expect(rows300).toBeGreaterThan(0);
    // The new version drops 300: MergeIntervals deletes its rows, then the run fails.
    process.env.AGENT_ETL_FAULT = 'MergeIntervals:after';
    const undo = await gold(lake, async () => {
      const failed = await runFile(lake, mondayWithout300, { key: 'in/monday.csv' }).finally(() => {
        delete process.env.AGENT_ETL_FAULT;
      });
      expect(failed.status).toBe('FAILED');
    });
    // The run's merge deleted 300's rows (its four retries, the answer lost, and the undo merge changed
    // nothing: no rows of 300 were left to look at); the undo append put them back.
    expect(undo.merged).toEqual([rows300, 0, 0, 0, 0, 0]);
    expect(undo.appended).toEqual([rows300]);
    expect(await rowsOf(lake, '300')).toBe(rows300);
    expect(await dataExports(lake)).toEqual(mondayOnly);
  });
}, 60_000);

test('RecordRun sent again for a run that has failed since (and was undone) leaves it failed', async () => {
  await withLakeAt(join(dir, 'late-record'), async (lake) => {
    const stopped = await runFile(lake, monday, { key: 'in/monday.csv', interruptAt: 'RecordRun' }).catch(
      (error: unknown) => error,
    );
    expect(stopped).toBeInstanceOf(ExecutionAbortedError);
    const values = await runningStepValues(lake);
    const runId = values.run_id;
    // the local repair: recorded FAILED, its gold writes undone
    expect((await closeInterruptedRuns(lake)).map((run) => run.runId)).toEqual([runId]);
    const undone = await dataExports(lake);
    // a late delivery of the commit point: no source row, so no change
    await lake.query(renderSql(readSql('pipeline/07_record_run.sql'), values));
    const [row] = await lake.query('select status, rows_loaded from pipeline_runs where run_id = ?', [runId]);
    expect(row).toEqual({ status: 'FAILED', rows_loaded: null });
    expect(await dataExports(lake)).toEqual(undone);
  });
}, 60_000);
