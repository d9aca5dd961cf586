/**
 * Naive wall-clock time: the contact center's clock, with no zone, as the data stores it. A value is
 * the number of milliseconds a UTC clock would show at that reading, so adding 30 minutes is plain
 * arithmetic; the IANA time zone is consulted only to ask whether a reading exists on that day.
 */
export type WallClock = number;

export const MINUTE_MS = 60_000;
export const INTERVAL_MS = 30 * MINUTE_MS;
export const DAY_MS = 24 * 60 * MINUTE_MS;

const TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.\d+)?$/;
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/**
 * The UTC milliseconds of a calendar reading. Date.UTC reads a year 0 to 99 as 1900 to 1999; setting
 * the full year takes it as written, so `0024-11-05` stays in year 24.
 */
function utc(year: number, month: number, day: number, hour = 0, minute = 0, second = 0): number {
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute, second, 0);
  return date.getTime();
}

function fromFields(fields: readonly number[], text: string): WallClock {
  const [year = 0, month = 1, day = 1, hour = 0, minute = 0, second = 0] = fields;
  const value = utc(year, month, day, hour, minute, second);
  const back = new Date(value);
  if (
    back.getUTCFullYear() !== year ||
    back.getUTCMonth() !== month - 1 ||
    back.getUTCDate() !== day ||
    hour > 23 ||
    minute > 59 ||
    second > 59
  ) {
    throw new RangeError(`not a valid date or time: '${text}'`);
  }
  return value;
}

/** Parses `YYYY-MM-DD HH:MM:SS` (a `T` and fractional seconds are accepted, as engines return them). */
export function parseTimestamp(text: string): WallClock {
  const match = TIMESTAMP.exec(text.trim());
  if (!match) throw new RangeError(`expected a timestamp 'YYYY-MM-DD HH:MM:SS', got '${text}'`);
  return fromFields(match.slice(1).map(Number), text);
}

/** Parses `YYYY-MM-DD` as the midnight that starts the day. */
export function parseDate(text: string): WallClock {
  const match = DATE.exec(text.trim());
  if (!match) throw new RangeError(`expected a date 'YYYY-MM-DD', got '${text}'`);
  return fromFields(match.slice(1).map(Number), text);
}

/** `YYYY-MM-DD HH:MM:SS`, the one form timestamps take in SQL parameters, messages and `--json`. */
export function formatTimestamp(value: WallClock): string {
  return new Date(value).toISOString().slice(0, 19).replace('T', ' ');
}

export function formatDate(value: WallClock): string {
  return new Date(value).toISOString().slice(0, 10);
}

export function startOfDay(value: WallClock): WallClock {
  return value - (((value % DAY_MS) + DAY_MS) % DAY_MS);
}

/** Rounds down to the interval that contains the reading (:00 or :30). */
export function floorToInterval(value: WallClock): WallClock {
  return value - (((value % INTERVAL_MS) + INTERVAL_MS) % INTERVAL_MS);
}

/** 0 = Sunday ... 6 = Saturday. */
export function dayOfWeek(value: WallClock): number {
  return new Date(value).getUTCDay();
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(timeZone);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formatters.set(timeZone, formatter);
  }
  return formatter;
}

/** Throws a RangeError naming the zone when it is not an IANA time zone this runtime knows. */
export function assertTimeZone(timeZone: string): void {
  try {
    formatterFor(timeZone);
  } catch {
    throw new RangeError(`unknown time zone '${timeZone}' (expected an IANA name such as America/New_York)`);
  }
}

/** What the clocks in `timeZone` read at an instant (milliseconds since the epoch). */
export function wallClockAt(instant: number, timeZone: string): WallClock {
  const parts: Record<string, number> = {};
  for (const part of formatterFor(timeZone).formatToParts(new Date(instant))) {
    if (part.type !== 'literal') parts[part.type] = Number(part.value);
  }
  const { year = 0, month = 1, day = 1, hour = 0, minute = 0, second = 0 } = parts;
  return utc(year, month, day, hour, minute, second);
}

/**
 * Whether the clocks in `timeZone` ever show this reading: false inside a spring-forward gap.
 * Tries the zone's offset a day before and a day after, which covers both sides of a transition.
 */
export function existsIn(value: WallClock, timeZone: string): boolean {
  for (const probe of [value - DAY_MS, value + DAY_MS]) {
    const offset = wallClockAt(probe, timeZone) - probe;
    if (wallClockAt(value - offset, timeZone) === value) return true;
  }
  return false;
}
