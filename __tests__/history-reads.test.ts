import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { profileSteps, type StepReads, splitRead } from '../bench/profile';
import { generateEvents } from '../cli/generate';
import { Lake, lakePaths, silverTableDir } from '../local/lake';
import { runFile } from '../local/runner';
import { EVENT_EXTENTS, LOADED_DAYS } from '../workflow/tables';
import { dataExports, removeDir, tempDir } from './support/lake';

/**
 * What a day's run reads must not grow with the history it goes into. The same day (Tuesday
 * 2025-03-04) goes into an empty lake, into 7 days of history and into 35 days; bytes come from DuckDB's
 * profiles as the bench counts them (bench/profile.ts), split into the run's own days, the neighbour
 * days and the reads not by day.
 *
 * The data is built so that the expected values follow from it:
 * - the 7 days are Monday 2025-02-24 to Sunday 2025-03-02, one file; the 35 days are 28 older days
 *   (2025-01-27 to 2025-02-23, another file) and then that same file, so every day from 2025-02-24 on is
 *   the same in both lakes, and the day's own partitions only hold the day's file (the history ends on a
 *   Sunday and its night shifts spill into Monday 2025-03-03, never into the day). The bench cuts one
 *   generated stream into daily files by `Done On`, as a center exports them, so there too the events
 *   past midnight of the night before are in the day's own file, and its own partitions hold only it;
 * - the neighbour days are those the day's windows and the weeks they touch reach: at most the Monday of
 *   the week before the day (the lookback is a week) up to the day before; none of the 28 older days.
 */
const dir = tempDir('agent-etl-history-reads-');
const EXTENSIONS = 40;
const NEXT_DAY = '2025-03-04';
const RECENT_FROM = '2025-02-24';
const OLDER_FROM = '2025-01-27';
const nextDay = join(dir, 'next-day.csv');
const recent = join(dir, 'recent.csv');
const older = join(dir, 'older.csv');
const reads = new Map<number, StepReads[]>();
const exports = new Map<number, Record<string, string>>();
const windows = new Map<number, { first: string; last: string }>();
/** The days holding gold rows before the day's run. */
const goldBefore = new Map<number, Set<string>>();

beforeAll(async () => {
  generateEvents(nextDay, { extensions: EXTENSIONS, days: 1, start: NEXT_DAY, seed: 43 });
  generateEvents(recent, { extensions: EXTENSIONS, days: 7, start: RECENT_FROM, seed: 42 });
  generateEvents(older, { extensions: EXTENSIONS, days: 28, start: OLDER_FROM, seed: 41 });
  for (const [days, history] of [
    [0, []],
    [7, [recent]],
    [35, [older, recent]],
  ] as const) {
    const lake = await Lake.open(join(dir, `lake-${days}`));
    try {
      for (const file of history) expect((await runFile(lake, file)).status).toBe('SUCCEEDED');
      const gold = await lake.query(
        'select distinct cast(cast(interval_start as date) as varchar) as day from agent_intervals',
      );
      goldBefore.set(days, new Set(gold.map((r) => String(r.day))));
      const profiler = await profileSteps(lake, join(dir, `profile-${days}.json`));
      const run = await runFile(lake, nextDay);
      expect(run.status).toBe('SUCCEEDED');
      reads.set(days, await profiler.finish(run.runId));
      exports.set(days, await dataExports(lake));
      // The run keeps its windows until the next run: the interval range it recomputed.
      const [range] = await lake.query(
        `select cast(cast(min(window_start) as date) as varchar) as first,
           cast(cast(max(window_end) - interval 1 second as date) as varchar) as last
         from affected_windows where run_id = ?`,
        [run.runId],
      );
      windows.set(days, { first: String(range?.first), last: String(range?.last) });
    } finally {
      lake.close();
    }
  }
}, 120_000);

afterAll(() => removeDir(dir));

/**
 * The same file loaded into two lakes gives the same rows, but DuckDB writes Parquet from several threads,
 * so on a busy machine a file's rows can land in another order and compress to a few bytes more or less
 * (seen once in a full jest run). Bytes of the same partitions are compared within this share.
 */
const ROW_ORDER = 0.005;
const near = (actual: number, expected: number) =>
  expect(Math.abs(actual - expected)).toBeLessThanOrEqual(ROW_ORDER * expected);

const split = (days: number) => splitRead(reads.get(days) ?? []);
const step = (days: number, name: string) => reads.get(days)?.find((s) => s.step === name);
const shiftDay = (day: string, by: number) =>
  new Date(Date.parse(`${day}T00:00:00Z`) + by * 86_400_000).toISOString().slice(0, 10);
const dayList = (from: string, to: string) => {
  const days: string[] = [];
  for (let t = Date.parse(`${from}T00:00:00Z`); t <= Date.parse(`${to}T00:00:00Z`); t += 86_400_000)
    days.push(new Date(t).toISOString().slice(0, 10));
  return days;
};
const monday = (day: string) => {
  const t = Date.parse(`${day}T00:00:00Z`);
  return new Date(t - ((new Date(t).getUTCDay() + 6) % 7) * 86_400_000).toISOString().slice(0, 10);
};

test("the run's own days are the dates of the day file's events", () => {
  // `M/D/YYYY h:mm:ss AM` in the first column
  const dates = readFileSync(nextDay, 'utf8')
    .split('\n')
    .slice(1)
    .filter((line) => line.length > 0)
    .map((line) => {
      const [month, day, year] = (line.split(' ')[0] ?? '').split('/');
      return `${year}-${month?.padStart(2, '0')}-${day?.padStart(2, '0')}`;
    });
  const own = [...new Set(dates)].sort();
  expect(own[0]).toBe(NEXT_DAY);
  for (const days of [0, 7, 35]) for (const s of reads.get(days) ?? []) expect(s.ownDays).toEqual(own);
});

test('every read is attributed exactly: the files and gold days of each scan check out against the profile', () => {
  for (const days of [0, 7, 35]) {
    expect(split(days).unverified).toBe(0);
    expect(split(days).own).toBeGreaterThan(0);
  }
});

test("gold is read by the days of the run's windows, and at most the whole weeks they touch", () => {
  for (const days of [7, 35]) {
    const range = windows.get(days) as { first: string; last: string };
    const before = goldBefore.get(days) as Set<string>;
    // The merge's own read of gold (its target): the windows' days that held rows before the run.
    expect(Object.keys(step(days, 'MergeIntervals')?.goldDayBytes ?? {}).sort()).toEqual(
      dayList(range.first, range.last).filter((day) => before.has(day)),
    );
    const weeks = dayList(monday(range.first), shiftDay(monday(range.last), 6));
    for (const s of reads.get(days) ?? [])
      for (const day of Object.keys(s.goldDayBytes)) expect(weeks).toContain(day);
    // The weekly summary: the partitions of those weeks only (its MERGE target bounded to the touched weeks).
    const summary = Object.keys(step(days, 'MergeWeeklySummary')?.weekBytes ?? {});
    expect(summary.length).toBeGreaterThan(0);
    for (const week of summary) expect(weeks.filter((day) => monday(day) === day)).toContain(week);
  }
});

test("the run's own days read the same bytes into 7 and 35 days of history, at most 1.2x the empty lake", () => {
  // Same files in the own days' partitions in both lakes; the history adds only its reads of them.
  near(split(35).own, split(7).own);
  expect(split(35).own).toBeLessThanOrEqual(1.2 * split(0).own);
  expect(split(0).neighbour).toBe(0);
});

test('the neighbour days are the same days, with the same bytes, into 7 and 35 days of history', () => {
  const short = split(7);
  const long = split(35);
  // At most the Monday of the week before the day (a week of lookback, whole weeks for the summary)
  // up to the day before it: none of the 28 older days.
  const reach = dayList(monday(shiftDay(NEXT_DAY, -7)), shiftDay(NEXT_DAY, -1));
  expect(long.neighbourDays).toEqual(short.neighbourDays);
  for (const day of long.neighbourDays) expect(reach).toContain(day);
  const bytes = (days: number, day: string) =>
    (reads.get(days) ?? []).reduce((sum, s) => sum + (s.dayBytes[day] ?? 0), 0);
  for (const day of long.neighbourDays) {
    if (day === RECENT_FROM) continue;
    near(bytes(35, day), bytes(7, day));
  }
  // The weekly summary's partitions of the neighbour days' weeks: the same weeks. The week before the
  // day's holds fewer rows in the short history, which starts within it.
  const weeks = (days: number) => (reads.get(days) ?? []).flatMap((s) => Object.keys(s.weekBytes));
  expect(new Set(weeks(35))).toEqual(new Set(weeks(7)));
  const summary = (days: number) =>
    (reads.get(days) ?? []).reduce((sum, s) => sum + (s.tableSplit.weekly_summary?.neighbour ?? 0), 0);
  // The first day of the short history differs: in the 35-day lake, the older file's Sunday-night
  // shifts run on into it (15% of agents work nights, 20% of them on a Sunday: about 1 in 33 agents,
  // adding at most the ~20 intervals of one shift to a day of about 17 per agent). Within 15%.
  expect(bytes(35, RECENT_FROM)).toBeGreaterThanOrEqual(bytes(7, RECENT_FROM));
  expect(bytes(35, RECENT_FROM)).toBeLessThanOrEqual(1.15 * bytes(7, RECENT_FROM));
  near(
    long.neighbour - bytes(35, RECENT_FROM) - summary(35),
    short.neighbour - bytes(7, RECENT_FROM) - summary(7),
  );
});

/**
 * Tables every run scans whole today, which hold a row (or file) per run or per object: they grow with
 * the runs of the lake, not with the day's data. The bench reports them as "other"; they are kept out
 * of the total below, and any other table growing fails it.
 */
const SCANNED_WHOLE = ['pipeline_runs', 'loaded_days'];

test('in total, a day into 35 days of history reads no more than into 7 days (tables scanned whole aside)', () => {
  const sum = (days: number, pick: (s: StepReads) => number) =>
    (reads.get(days) ?? []).reduce((total, s) => total + pick(s), 0);
  // The weekly summary is read by week partition: the weeks of the day and of its neighbour days, the
  // same weeks at 7 and 35 days (checked above); its bytes per row on this small data depend on how
  // many rows a partition holds, so it is kept out of the bounded reads and allowed in the total.
  const weeks = (days: number) =>
    sum(days, (s) => Object.values(s.weekBytes).reduce((total, bytes) => total + bytes, 0));
  const bounded = (days: number) =>
    sum(
      days,
      (s) =>
        s.split.own +
        s.split.neighbour +
        Object.entries(s.tableSplit)
          .filter(([table]) => !SCANNED_WHOLE.includes(table))
          .reduce((total, [, part]) => total + part.other, 0),
    ) - weeks(days);
  const firstDay = (days: number) => sum(days, (s) => s.dayBytes[RECENT_FROM] ?? 0);
  expect(bounded(7)).toBeGreaterThan(split(7).own - weeks(7));
  expect(bounded(35)).toBeLessThanOrEqual((1 + ROW_ORDER) * (bounded(7) + firstDay(35) - firstDay(7)));
  // What the whole-table scans add at 35 days: one more object (two history files against one);
  // and the week before the day's, whole in the longer history; nothing else.
  const whole = (days: number, table: string) => sum(days, (s) => s.tableSplit[table]?.other ?? 0);
  for (const table of SCANNED_WHOLE) expect(whole(35, table)).toBeGreaterThan(0);
  expect(split(35).total - split(7).total).toBeLessThanOrEqual(
    firstDay(35) -
      firstDay(7) +
      Math.max(0, weeks(35) - weeks(7)) +
      SCANNED_WHOLE.reduce((total, table) => total + whole(35, table) - whole(7, table), 0) +
      ROW_ORDER * split(7).total,
  );
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

/**
 * Athena runs a WITH query again at each of its references (Trino inlines them,
 * https://github.com/trinodb/trino/issues/18421), and a reference from inside another WITH query runs
 * as often as that one does: before the statements were written for it, FindAffectedWindows would have
 * read the run's own extents 146 times in a day into 90 days, and until the object's runs and the week's
 * bounds came as literals, pipeline_runs 21 times (now 19, through withheld_runs, which reads its `published = false` partition alone). The bound keeps a
 * new reference from multiplying the reads again.
 */
const MOST_RUNS_OF_A_SCAN = 20;

test('in Athena, no statement of a day runs one of its scans more than 20 times', () => {
  for (const days of [0, 7, 35]) {
    const steps = (reads.get(days) ?? []).filter((s) => s.step !== 'LoadCsvToSilver');
    const most = (step: string) =>
      Math.max(...Object.values(steps.find((s) => s.step === step)?.evaluations ?? {}));
    const over = steps.flatMap((s) =>
      Object.entries(s.evaluations)
        .filter(([, times]) => times > MOST_RUNS_OF_A_SCAN)
        .map(([table, times]) => `${s.step} ${table} ${times}`),
    );
    expect(over).toEqual([]);
    // the count is taken: the neighbour search reads the week's extents once per reference to it
    expect(most('FindAffectedWindows')).toBeGreaterThan(1);
  }
});

test("FindAffectedWindows reads an object's unfinished windows only when it has some: affected_windows only as its MERGE target", () => {
  for (const days of [0, 7, 35]) {
    const step = (reads.get(days) ?? []).find((s) => s.step === 'FindAffectedWindows');
    // FindObjectDays found no unfinished run: the branch is a constant false, dropped when the query is
    // planned (it ran with every reference to the object's extents before, 21 times)
    expect(step?.evaluations.affected_windows ?? 0).toBeLessThanOrEqual(1);
    expect(step?.evaluations.event_extents).toBeGreaterThan(1);
  }
});

test("MergeKnownExtensions reads the run's own days alone", () => {
  for (const days of [0, 7, 35]) {
    const step = (reads.get(days) ?? []).find((s) => s.step === 'MergeKnownExtensions');
    expect(step?.ownDays.length).toBeGreaterThan(0);
    expect(Object.keys(step?.dayBytes ?? {}).sort()).toEqual([...(step?.ownDays ?? [])].sort());
  }
});
