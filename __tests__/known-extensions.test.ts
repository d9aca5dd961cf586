import { cpSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { profileSteps, type StepReads } from '../bench/profile';
import type { Lake } from '../local/lake';
import { runFile } from '../local/runner';
import { ExecutionAbortedError } from '../local/step-functions';
import { renderSql } from '../workflow/sql-template';
import { readSql } from '../workflow/steps';
import { KNOWN_EXTENSIONS } from '../workflow/tables';
import { intervalRows, removeDir, runningStepValues, tempDir, withLakeAt, writeCsv } from './support/lake';
import { expectedIntervals, type OracleEvent, parseUsTimestamp } from './support/oracle';

/**
 * The search for an extension's previous event reads a week of event_extents before the day, and for an
 * extension with nothing in that week, what known_extensions says: nothing for one the lake has never
 * seen, the last day it was seen for one that has been away, every older day from its first only when
 * that last day's rows no longer count. Hand-made data, so the days each case must read follow from it:
 * - extension 200 works every weekday from Monday 2025-01-27 to Monday 2025-03-03 (one object);
 * - extension 300 logs in and goes online on Wednesday 2025-02-05 (object a) and logs out on Wednesday
 *   2025-02-12 (object b), then is away;
 * - the day is Tuesday 2025-03-04, so the week searched first starts on 2025-02-25;
 * - a backfill of Monday 2025-01-20 searches ahead up to 2025-01-27 first.
 * Every result is also checked against the oracle over the events that count.
 */
const dir = tempDir('agent-etl-known-extensions-');
const DAY = '2025-03-04';
const WEEK_START = '2025-02-25';

const us = (day: string, time: string) => {
  const [year, month, date] = day.split('-').map(Number);
  return `${month}/${date}/${year} ${time}`;
};
const shift = (extension: string, day: string) => [
  `${us(day, '8:00:00 AM')},${extension},LOGIN,`,
  `${us(day, '8:00:30 AM')},${extension},ONLINE,`,
  `${us(day, '4:00:00 PM')},${extension},LOGOUT,`,
];
const weekdays = (from: string, to: string) => {
  const days: string[] = [];
  for (let t = Date.parse(`${from}T00:00:00Z`); t <= Date.parse(`${to}T00:00:00Z`); t += 86_400_000) {
    const weekday = new Date(t).getUTCDay();
    if (weekday !== 0 && weekday !== 6) days.push(new Date(t).toISOString().slice(0, 10));
  }
  return days;
};

const history = writeCsv(
  dir,
  'history.csv',
  weekdays('2025-01-27', '2025-03-03').flatMap((day) => shift('200', day)),
);
const a = writeCsv(dir, 'a.csv', [
  `${us('2025-02-05', '9:00:00 AM')},300,LOGIN,`,
  `${us('2025-02-05', '9:00:30 AM')},300,ONLINE,`,
]);
const b = writeCsv(dir, 'b.csv', [`${us('2025-02-12', '10:00:00 AM')},300,LOGOUT,`]);
// b loaded again without 300: its logout no longer counts, so 300 stays online from 2025-02-05
const bAgain = writeCsv(dir, 'b-again.csv', [
  `${us('2025-02-12', '11:00:00 AM')},201,LOGIN,`,
  `${us('2025-02-12', '11:30:00 AM')},201,LOGOUT,`,
]);
const withNewAgent = writeCsv(dir, 'day-new.csv', [...shift('200', DAY), ...shift('400', DAY)]);
const withReturner = writeCsv(dir, 'day-back.csv', [...shift('200', DAY), ...shift('300', DAY)]);
// 300 goes online a fortnight before its next event (2025-02-05); 500 is seen on no other day
const backfill = writeCsv(dir, 'backfill.csv', [
  `${us('2025-01-20', '9:00:00 AM')},300,LOGIN,`,
  `${us('2025-01-20', '9:00:30 AM')},300,ONLINE,`,
  ...shift('500', '2025-01-20'),
]);

const base = join(dir, 'base');

beforeAll(async () => {
  await withLakeAt(base, async (lake) => {
    for (const [file, key] of [
      [history, 'in/history.csv'],
      [a, 'in/a.csv'],
      [b, 'in/b.csv'],
    ] as const)
      expect((await runFile(lake, file, { key })).status).toBe('SUCCEEDED');
  });
}, 60_000);

afterAll(() => removeDir(dir));

function events(...files: string[]): OracleEvent[] {
  return files.flatMap((file) =>
    readFileSync(file, 'utf8')
      .trimEnd()
      .split('\n')
      .slice(1)
      .map((line) => {
        const [doneOn = '', extension = '', action = '', details = ''] = line.split(',');
        return { at: parseUsTimestamp(doneOn), extension, action, details };
      }),
  );
}

/** The day run on a copy of the base lake (after `before`), with what FindAffectedWindows read. */
async function dayRun(
  name: string,
  day: string,
  before?: (lake: Lake) => Promise<void>,
): Promise<{ olderDays: string[]; days: string[]; intervals: Record<string, [number, number]> }> {
  const root = join(dir, name);
  cpSync(base, root, { recursive: true });
  return withLakeAt(root, async (lake) => {
    await before?.(lake);
    const profiler = await profileSteps(lake, join(dir, `${name}-profile.json`));
    const run = await runFile(lake, day, { key: 'in/day.csv' });
    expect(run.status).toBe('SUCCEEDED');
    const steps: StepReads[] = await profiler.finish(run.runId);
    const find = steps.find((s) => s.step === 'FindAffectedWindows');
    expect(find?.unverified).toBe(0);
    const days = Object.keys(find?.dayBytes ?? {}).sort();
    return {
      olderDays: days.filter((d) => d < WEEK_START),
      days,
      intervals: await intervalRows(lake),
    };
  });
}

test('an agent the lake has never seen sends the search to no older day', async () => {
  const { olderDays, intervals } = await dayRun('new-agent', withNewAgent);
  expect(olderDays).toEqual([]);
  expect(intervals).toEqual(expectedIntervals(events(history, a, b, withNewAgent)));
});

test('an agent back after three weeks sends it to the last day it was seen, and no other', async () => {
  const { olderDays, intervals } = await dayRun('returner', withReturner);
  expect(olderDays).toEqual(['2025-02-12']);
  expect(intervals).toEqual(expectedIntervals(events(history, a, b, withReturner)));
});

test('when the last day seen no longer counts, every older day is searched and the earlier state is found', async () => {
  const { olderDays, intervals } = await dayRun('withdrawn', withReturner, async (lake) => {
    expect((await runFile(lake, bAgain, { key: 'in/b.csv' })).status).toBe('SUCCEEDED');
    // the bounds only widen: 300's last day stays 2025-02-12, though no row of it counts there now
    const [row] = await lake.query(
      `select cast(first_day as varchar) as first, cast(last_day as varchar) as last
       from ${KNOWN_EXTENSIONS.name} where extension = '300'`,
    );
    expect(row).toEqual({ first: '2025-02-05', last: '2025-02-12' });
  });
  expect(olderDays).toContain('2025-02-05');
  expect(olderDays).toContain('2025-02-12');
  const expected = expectedIntervals(events(history, a, bAgain, withReturner));
  // 300 online from 2025-02-05 09:00:30 to its login on the day: every interval between, at 0.5 h
  expect(expected['300|2025-02-20 12:00:00']).toEqual([0.5, 0]);
  expect(intervals).toEqual(expected);
});

test('a lake made before known_extensions gains it on open, from every run the lake holds', async () => {
  const root = join(dir, 'older-lake');
  cpSync(base, root, { recursive: true });
  await withLakeAt(root, (lake) => lake.exec(`drop table ${KNOWN_EXTENSIONS.name}`));
  await withLakeAt(root, async (lake) => {
    const rows = await lake.query(
      `select extension, cast(first_day as varchar) as first, cast(last_day as varchar) as last
       from ${KNOWN_EXTENSIONS.name} order by extension`,
    );
    expect(rows).toEqual([
      { extension: '200', first: '2025-01-27', last: '2025-03-03' },
      { extension: '300', first: '2025-02-05', last: '2025-02-12' },
    ]);
  });
});

test('a retry of MergeKnownExtensions after its commit changes nothing more', async () => {
  const root = join(dir, 'retry');
  cpSync(base, root, { recursive: true });
  await withLakeAt(root, async (lake) => {
    // The execution stops as it enters RecordRun: MergeKnownExtensions committed, its answer unused.
    const stopped = await runFile(lake, withNewAgent, { key: 'in/day.csv', interruptAt: 'RecordRun' })
      .then(() => undefined)
      .catch((error: unknown) => error);
    expect(stopped).toBeInstanceOf(ExecutionAbortedError);
    const known = `select extension, cast(first_day as varchar) as first, cast(last_day as varchar) as last
       from ${KNOWN_EXTENSIONS.name} order by extension`;
    const expected = [
      { extension: '200', first: '2025-01-27', last: DAY },
      { extension: '300', first: '2025-02-05', last: '2025-02-12' },
      { extension: '400', first: DAY, last: DAY },
    ];
    expect(await lake.query(known)).toEqual(expected);
    // What a Step Functions retry sends: the same text again.
    await lake.query(
      renderSql(readSql('pipeline/06_merge_known_extensions.sql'), await runningStepValues(lake)),
    );
    expect(await lake.query(known)).toEqual(expected);
  });
});

test('a backfill searches past the week ahead only for an agent the lake has seen later', async () => {
  const { days, intervals } = await dayRun('backfill', backfill);
  const expected = expectedIntervals(events(history, a, b, backfill));
  // 300 online from 2025-01-20 09:00:30 to its login on 2025-02-05: every interval between, at 0.5 h
  expect(expected['300|2025-01-31 12:00:00']).toEqual([0.5, 0]);
  expect(intervals).toEqual(expected);
  // 300's next event lies past the week after the day: the days after the week are searched for it
  expect(days.filter((d) => d > '2025-01-27')).toContain('2025-02-05');
});

test('a day after everything the lake holds searches no day past the week ahead', async () => {
  // every agent's last day is before the week's end: the lake holds later days for none of them
  const { days } = await dayRun('no-later', withReturner);
  expect(days.filter((d) => d > DAY)).toEqual([]);
});
