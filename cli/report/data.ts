import { type CoverageResult, dayWindow, evaluateCoverage } from '../../handlers/coverage-check/coverage';
import { COVERAGE_SQL_FILES } from '../../handlers/coverage-check/queries';
import { isOpen, type OperatingSchedule } from '../../handlers/coverage-check/schedule';
import {
  assertTimeZone,
  DAY_MS,
  existsIn,
  formatDate,
  formatTimestamp,
  INTERVAL_MS,
  parseDate,
  parseTimestamp,
  type WallClock,
  wallClockAt,
} from '../../handlers/coverage-check/wall-clock';
import type { QueryEngine, QueryRow } from '../../handlers/ports';
import { readSql } from '../../workflow/steps';

/** The report's queries, by file below `sql/`: Trino text that runs unchanged on Athena and DuckDB. */
const REPORT_SQL_FILES = {
  dataDays: 'report/data_days.sql',
  dailyHours: 'report/daily_hours.sql',
  weeklyHours: 'report/weekly_hours.sql',
  runs: 'report/runs.sql',
  runsByDay: 'report/runs_by_day.sql',
  rejectsByReason: 'report/rejects_by_reason.sql',
  rejectsByFile: 'report/rejects_by_file.sql',
  rejectExamples: 'report/reject_examples.sql',
} as const;

/** Days shown when no range is given: the latest this many days, ending on the last day with data. */
export const DEFAULT_DAYS = 14;
/** A heatmap row per day: past a year the page would be neither small nor readable. */
const MAX_DAYS = 366;
/** Extensions named in the weekly chart; the others are summed into one series. */
const TOP_EXTENSIONS = 10;
/** Rejected rows shown as examples of each kind of reason. */
const EXAMPLES_PER_REASON = 3;

/** What one interval of a day's heatmap row shows. */
export type CellState = 'present' | 'missing' | 'closed' | 'skipped';

export interface CoverageDay {
  readonly day: string;
  readonly result: CoverageResult;
  /** The day's 48 wall-clock readings, 00:00 to 23:30, in order. */
  readonly cells: readonly CellState[];
  /** Intervals the zone's clocks run through that day: 48, 46 (spring forward) or 50 (fall back). */
  readonly clockIntervals: number;
}

export interface DailyHours {
  readonly day: string;
  readonly productiveHours: number;
  readonly extensions: number;
  readonly intervalsWithData: number;
}

export interface WeeklyHours {
  readonly weekStart: string;
  /** null: the extensions outside the top N, summed. */
  readonly extension: string | null;
  readonly productiveHours: number;
  readonly extensions: number;
}

export interface RunRow {
  readonly runId: string;
  readonly sourceObject: string | null;
  readonly status: string;
  /** `YYYY-MM-DD HH:MM:SS`, UTC. */
  readonly startedAt: string | null;
  readonly finishedAt: string | null;
  readonly rowsRead: number | null;
  readonly rowsLoaded: number | null;
  readonly rowsRejected: number | null;
  readonly intervalsTouched: number | null;
  readonly productiveHours: number | null;
  readonly durationMs: number | null;
  readonly error: string | null;
}

export interface RunsOnDay {
  readonly day: string;
  readonly status: string;
  readonly runs: number;
}

export interface RejectReason {
  /** The reason with the value it quotes replaced by "...": one row per kind of mistake. */
  readonly reasonKind: string;
  readonly rejectedRows: number;
  readonly files: number;
}

export interface RejectFile {
  readonly sourceObject: string;
  readonly rejectedRows: number;
  readonly firstLine: number;
}

export interface RejectExample {
  readonly reasonKind: string;
  readonly reason: string;
  readonly sourceObject: string;
  readonly sourceLine: number;
  readonly rawLine: string;
}

export interface ReportData {
  readonly timeZone: string;
  readonly schedule: OperatingSchedule | undefined;
  /** The days shown, both included; undefined when the lake has no interval and no range was given. */
  readonly range: { readonly from: string; readonly to: string } | undefined;
  readonly coverage: readonly CoverageDay[];
  readonly dailyHours: readonly DailyHours[];
  readonly weeklyHours: readonly WeeklyHours[];
  readonly runs: readonly RunRow[];
  readonly runsByDay: readonly RunsOnDay[];
  readonly rejectsByReason: readonly RejectReason[];
  readonly rejectsByFile: readonly RejectFile[];
  readonly rejectExamples: readonly RejectExample[];
}

export interface ReportOptions {
  /** First day, `YYYY-MM-DD`. */
  readonly from?: string | undefined;
  /** Last day, `YYYY-MM-DD`, included. */
  readonly to?: string | undefined;
  readonly timeZone: string;
  readonly schedule: OperatingSchedule | undefined;
}

const text = (value: QueryRow[string] | undefined): string | null =>
  value === null || value === undefined ? null : String(value);
const count = (value: QueryRow[string] | undefined): number | null =>
  value === null || value === undefined ? null : Number(value);
/** Engines return timestamps as `YYYY-MM-DD HH:MM:SS[.fff]`; the page shows whole seconds. */
const seconds = (value: QueryRow[string] | undefined): string | null => text(value)?.slice(0, 19) ?? null;

/** Monday of the week holding the day (weekly_summary's `week_start`). */
function mondayOf(day: WallClock): WallClock {
  return day - ((new Date(day).getUTCDay() + 6) % 7) * DAY_MS;
}

/** Counts the 30-minute steps of real time whose wall-clock reading falls on the day. */
function clockIntervalsOn(day: WallClock, timeZone: string): number {
  let intervals = 0;
  // Zones sit within 14 hours of UTC, so these instants cover the whole day wherever it is.
  for (let instant = day - 15 * 3_600_000; instant < day + DAY_MS + 15 * 3_600_000; instant += INTERVAL_MS) {
    const reading = wallClockAt(instant, timeZone);
    if (reading >= day && reading < day + DAY_MS) intervals += 1;
  }
  return intervals;
}

/** Each wall-clock reading of the day, classified with the check's own rules and missing ranges. */
function cellsOf(result: CoverageResult, schedule: OperatingSchedule | undefined): CellState[] {
  const { start, end, timeZone } = result.window;
  const missing = result.missing.map((range) => ({
    from: parseTimestamp(range.start),
    to: parseTimestamp(range.end),
  }));
  const cells: CellState[] = [];
  for (let slot = start; slot < end; slot += INTERVAL_MS) {
    if (!existsIn(slot, timeZone)) cells.push('skipped');
    else if (!isOpen(schedule, slot)) cells.push('closed');
    else if (missing.some((range) => slot >= range.from && slot < range.to)) cells.push('missing');
    else cells.push('present');
  }
  return cells;
}

async function resolveRange(
  engine: QueryEngine,
  options: ReportOptions,
): Promise<{ from: WallClock; to: WallClock } | undefined> {
  const given = {
    from: options.from === undefined ? undefined : parseDate(options.from),
    to: options.to === undefined ? undefined : parseDate(options.to),
  };
  let { from, to } = given;
  if (from === undefined || to === undefined) {
    const [bounds] = await engine.query(readSql(REPORT_SQL_FILES.dataDays));
    const firstDay = text(bounds?.first_day);
    const lastDay = text(bounds?.last_day);
    if (to === undefined) {
      if (from !== undefined) to = from + (DEFAULT_DAYS - 1) * DAY_MS;
      else if (lastDay !== null) to = parseDate(lastDay);
      else return undefined;
    }
    if (from === undefined) {
      const earliest = firstDay === null ? to : parseDate(firstDay);
      if (earliest > to)
        throw new RangeError(
          `--to ${formatDate(to)} is before the first day with data, ${formatDate(earliest)}; give a later --to, or --from too`,
        );
      from = Math.max(earliest, to - (DEFAULT_DAYS - 1) * DAY_MS);
    }
  }
  if (from > to) throw new RangeError(`--from ${formatDate(from)} is after --to ${formatDate(to)}`);
  const days = (to - from) / DAY_MS + 1;
  if (days > MAX_DAYS) throw new RangeError(`${days} days asked for; a report shows at most ${MAX_DAYS}`);
  return { from, to };
}

/** Everything the page shows, read through the query port (DuckDB locally, Athena in AWS). */
export async function loadReportData(engine: QueryEngine, options: ReportOptions): Promise<ReportData> {
  assertTimeZone(options.timeZone);
  const range = await resolveRange(engine, options);

  const coverage: CoverageDay[] = [];
  let dailyHours: DailyHours[] = [];
  let weeklyHours: WeeklyHours[] = [];
  if (range) {
    const start = formatTimestamp(range.from);
    const end = formatTimestamp(range.to + DAY_MS);
    // The check's own query over the whole range, then the check's own evaluation per day.
    const present = (await engine.query(readSql(COVERAGE_SQL_FILES.presentIntervals), [start, end])).map(
      (row) => String(row.interval_start),
    );
    for (let day = range.from; day <= range.to; day += DAY_MS) {
      const label = formatDate(day);
      const result = evaluateCoverage(
        dayWindow(label, options.timeZone),
        options.schedule,
        present.filter((interval) => interval.startsWith(label)),
      );
      coverage.push({
        day: label,
        result,
        cells: cellsOf(result, options.schedule),
        clockIntervals: clockIntervalsOn(day, options.timeZone),
      });
    }
    dailyHours = (await engine.query(readSql(REPORT_SQL_FILES.dailyHours), [start, end])).map((row) => ({
      day: String(row.day),
      productiveHours: Number(row.productive_hours),
      extensions: Number(row.extensions),
      intervalsWithData: Number(row.intervals_with_data),
    }));
    weeklyHours = (
      await engine.query(readSql(REPORT_SQL_FILES.weeklyHours), [
        formatDate(mondayOf(range.from)),
        formatDate(range.to),
        TOP_EXTENSIONS,
      ])
    ).map((row) => ({
      weekStart: String(row.week_start),
      extension: text(row.extension),
      productiveHours: Number(row.productive_hours),
      extensions: Number(row.extensions),
    }));
  }

  const runs = (await engine.query(readSql(REPORT_SQL_FILES.runs))).map((row) => ({
    runId: String(row.run_id),
    sourceObject: text(row.source_object),
    status: String(row.status),
    startedAt: seconds(row.started_at),
    finishedAt: seconds(row.finished_at),
    rowsRead: count(row.rows_read),
    rowsLoaded: count(row.rows_loaded),
    rowsRejected: count(row.rows_rejected),
    intervalsTouched: count(row.intervals_touched),
    productiveHours: count(row.productive_hours),
    durationMs: count(row.duration_ms),
    error: text(row.error),
  }));
  const runsByDay = (await engine.query(readSql(REPORT_SQL_FILES.runsByDay))).map((row) => ({
    day: String(row.day),
    status: String(row.status),
    runs: Number(row.runs),
  }));
  const rejectsByReason = (await engine.query(readSql(REPORT_SQL_FILES.rejectsByReason))).map((row) => ({
    reasonKind: String(row.reason_kind),
    rejectedRows: Number(row.rejected_rows),
    files: Number(row.files),
  }));
  const rejectsByFile = (await engine.query(readSql(REPORT_SQL_FILES.rejectsByFile))).map((row) => ({
    sourceObject: String(row.source_object),
    rejectedRows: Number(row.rejected_rows),
    firstLine: Number(row.first_line),
  }));
  const rejectExamples = (
    await engine.query(readSql(REPORT_SQL_FILES.rejectExamples), [EXAMPLES_PER_REASON])
  ).map((row) => ({
    reasonKind: String(row.reason_kind),
    reason: String(row.reason),
    sourceObject: String(row.source_object),
    sourceLine: Number(row.source_line),
    rawLine: String(row.raw_line),
  }));

  return {
    timeZone: options.timeZone,
    schedule: options.schedule,
    range: range && { from: formatDate(range.from), to: formatDate(range.to) },
    coverage,
    dailyHours,
    weeklyHours,
    runs,
    runsByDay,
    rejectsByReason,
    rejectsByFile,
    rejectExamples,
  };
}
