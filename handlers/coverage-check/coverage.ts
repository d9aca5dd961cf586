import { isOpen, type OperatingSchedule } from './schedule';
import {
  assertTimeZone,
  DAY_MS,
  existsIn,
  floorToInterval,
  formatDate,
  formatTimestamp,
  INTERVAL_MS,
  parseDate,
  parseTimestamp,
  startOfDay,
  type WallClock,
  wallClockAt,
} from './wall-clock';

/** A stretch of wall-clock time to check: `[start, end)`, both on interval boundaries. */
export interface CoverageWindow {
  /** A calendar day, or the 24 hours ending at a given time. */
  readonly kind: 'day' | 'trailing';
  readonly start: WallClock;
  readonly end: WallClock;
  readonly timeZone: string;
}

export interface MissingRange {
  /** `YYYY-MM-DD HH:MM:SS`, the first missing interval's start. */
  readonly start: string;
  /** `YYYY-MM-DD HH:MM:SS`, exclusive: the end of the last missing interval of the range. */
  readonly end: string;
}

/** complete: every expected interval has data; partial: some do; no_data: none do (a load failure). */
export type Severity = 'complete' | 'partial' | 'no_data';

export interface CoverageResult {
  readonly window: CoverageWindow;
  /** Intervals that exist on the zone's clocks in the window and fall in operating hours. */
  readonly expected: number;
  /** Expected intervals with at least one row in `agent_intervals`. */
  readonly present: number;
  readonly missing: readonly MissingRange[];
  readonly complete: boolean;
  readonly severity: Severity;
}

/** The calendar day `YYYY-MM-DD` in the zone: midnight to midnight on its clocks. */
export function dayWindow(day: string, timeZone: string): CoverageWindow {
  assertTimeZone(timeZone);
  const start = parseDate(day);
  return { kind: 'day', start, end: start + DAY_MS, timeZone };
}

/** The 24 hours of wall-clock time ending at `end` (`YYYY-MM-DD HH:MM:SS`), rounded down to :00/:30. */
export function trailingWindow(end: string, timeZone: string): CoverageWindow {
  assertTimeZone(timeZone);
  const last = floorToInterval(parseTimestamp(end));
  return { kind: 'trailing', start: last - DAY_MS, end: last, timeZone };
}

/** The day before the one the zone's clocks show at `now`: what the daily schedule checks. */
export function yesterdayWindow(now: Date, timeZone: string): CoverageWindow {
  assertTimeZone(timeZone);
  return dayWindow(formatDate(startOfDay(wallClockAt(now.getTime(), timeZone)) - DAY_MS), timeZone);
}

/**
 * The calendar days a run recomputed, from its first to its last interval, keeping only days that
 * are over on the zone's clocks at `now` (a day in progress is the next day's schedule's job), and
 * at most the latest `limit` of them.
 */
export function touchedDayWindows(
  firstInterval: string,
  lastInterval: string,
  now: Date,
  timeZone: string,
  limit: number,
): { windows: CoverageWindow[]; skipped: number } {
  assertTimeZone(timeZone);
  const today = startOfDay(wallClockAt(now.getTime(), timeZone));
  const last = Math.min(startOfDay(parseTimestamp(lastInterval)), today - DAY_MS);
  const days: string[] = [];
  for (let day = startOfDay(parseTimestamp(firstInterval)); day <= last; day += DAY_MS)
    days.push(formatDate(day));
  const kept = days.slice(-limit);
  return { windows: kept.map((day) => dayWindow(day, timeZone)), skipped: days.length - kept.length };
}

/** Identifies a window for deduplication: the same zone and the same bounds are the same window. */
export function windowKey(window: CoverageWindow): string {
  return `${window.timeZone}|${formatTimestamp(window.start)}|${formatTimestamp(window.end)}`;
}

/**
 * Compares the intervals a window should have with those present. `presentStarts` are interval
 * starts as the engine returns them (`YYYY-MM-DD HH:MM:SS[.fff]`). Readings the zone's clocks skip
 * (a spring-forward hour) are not expected and do not split a missing range; a fall-back hour's
 * readings occur twice but are stored once, so each is expected once.
 */
export function evaluateCoverage(
  window: CoverageWindow,
  schedule: OperatingSchedule | undefined,
  presentStarts: Iterable<string>,
): CoverageResult {
  const present = new Set<WallClock>();
  for (const text of presentStarts) present.add(parseTimestamp(text.slice(0, 19)));

  let expected = 0;
  let found = 0;
  const missing: { start: WallClock; end: WallClock }[] = [];
  let open: { start: WallClock; end: WallClock } | undefined;
  for (let slot = window.start; slot < window.end; slot += INTERVAL_MS) {
    if (!existsIn(slot, window.timeZone)) continue;
    if (!isOpen(schedule, slot)) {
      open = undefined;
      continue;
    }
    expected += 1;
    if (present.has(slot)) {
      found += 1;
      open = undefined;
    } else if (open) {
      open.end = slot + INTERVAL_MS;
    } else {
      open = { start: slot, end: slot + INTERVAL_MS };
      missing.push(open);
    }
  }

  const complete = missing.length === 0;
  return {
    window,
    expected,
    present: found,
    missing: missing.map((range) => ({
      start: formatTimestamp(range.start),
      end: formatTimestamp(range.end),
    })),
    complete,
    severity: complete ? 'complete' : found === 0 ? 'no_data' : 'partial',
  };
}

/** The `--json` shape of the command line. */
export function coverageJson(result: CoverageResult): {
  window: { start: string; end: string };
  expected: number;
  present: number;
  missing: MissingRange[];
  complete: boolean;
} {
  return {
    window: { start: formatTimestamp(result.window.start), end: formatTimestamp(result.window.end) },
    expected: result.expected,
    present: result.present,
    missing: [...result.missing],
    complete: result.complete,
  };
}
