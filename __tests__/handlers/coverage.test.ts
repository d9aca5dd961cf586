import {
  coverageJson,
  dayWindow,
  evaluateCoverage,
  touchedDayWindows,
  trailingWindow,
  yesterdayWindow,
} from '../../handlers/coverage-check/coverage';
import { parseOperatingSchedule } from '../../handlers/coverage-check/schedule';

/** Interval starts every 30 minutes from `from` (inclusive) to `to` (exclusive), both 'YYYY-MM-DD HH:MM'. */
function halfHours(from: string, to: string): string[] {
  const out: string[] = [];
  for (let t = Date.parse(`${from}:00Z`); t < Date.parse(`${to}:00Z`); t += 1_800_000) {
    out.push(new Date(t).toISOString().slice(0, 19).replace('T', ' '));
  }
  return out;
}

const WEEKDAYS_7_TO_19 = '[{"days":["mon","tue","wed","thu","fri"],"open":"07:00","close":"19:00"}]';

describe('a calendar day in UTC', () => {
  const day = dayWindow('2024-11-04', 'UTC');

  it('reports exactly 14:00 to midnight missing when the feed stops at 14:00', () => {
    const result = evaluateCoverage(day, undefined, halfHours('2024-11-04 00:00', '2024-11-04 14:00'));
    expect(coverageJson(result)).toEqual({
      window: { start: '2024-11-04 00:00:00', end: '2024-11-05 00:00:00' },
      expected: 48,
      present: 28,
      missing: [{ start: '2024-11-04 14:00:00', end: '2024-11-05 00:00:00' }],
      complete: false,
    });
    expect(result.severity).toBe('partial');
  });

  it('reports the whole day and a load failure when there is no data at all', () => {
    const result = evaluateCoverage(day, undefined, []);
    expect(result.missing).toEqual([{ start: '2024-11-04 00:00:00', end: '2024-11-05 00:00:00' }]);
    expect(result.present).toBe(0);
    expect(result.severity).toBe('no_data');
  });

  it('is complete with all 48 intervals, whatever the engine appends to the timestamps', () => {
    const athenaStyle = halfHours('2024-11-04 00:00', '2024-11-05 00:00').map((t) => `${t}.000`);
    const result = evaluateCoverage(day, undefined, athenaStyle);
    expect(result).toMatchObject({
      expected: 48,
      present: 48,
      missing: [],
      complete: true,
      severity: 'complete',
    });
  });

  it('ignores rows outside the window and splits separate holes into separate ranges', () => {
    const present = [
      ...halfHours('2024-11-03 20:00', '2024-11-04 01:00'),
      ...halfHours('2024-11-04 02:00', '2024-11-04 23:30'),
      '2024-11-05 00:00:00',
    ];
    const result = evaluateCoverage(day, undefined, present);
    expect(result.missing).toEqual([
      { start: '2024-11-04 01:00:00', end: '2024-11-04 02:00:00' },
      { start: '2024-11-04 23:30:00', end: '2024-11-05 00:00:00' },
    ]);
    expect(result.present).toBe(45);
  });
});

describe('daylight saving time in America/New_York', () => {
  const zone = 'America/New_York';

  it('expects 46 intervals on the spring-forward day (02:00 to 03:00 never happens)', () => {
    const day = dayWindow('2024-03-10', zone);
    const empty = evaluateCoverage(day, undefined, []);
    expect(empty.expected).toBe(46);
    expect(empty.missing).toEqual([{ start: '2024-03-10 00:00:00', end: '2024-03-11 00:00:00' }]);

    const withoutTheSkippedHour = [
      ...halfHours('2024-03-10 00:00', '2024-03-10 02:00'),
      ...halfHours('2024-03-10 03:00', '2024-03-11 00:00'),
    ];
    expect(evaluateCoverage(day, undefined, withoutTheSkippedHour)).toMatchObject({
      present: 46,
      complete: true,
    });
  });

  it('expects 48 distinct intervals on the fall-back day (01:00 to 02:00 happens twice, stored once)', () => {
    const day = dayWindow('2024-11-03', zone);
    const result = evaluateCoverage(day, undefined, halfHours('2024-11-03 00:00', '2024-11-03 12:00'));
    expect(result.expected).toBe(48);
    expect(result.present).toBe(24);
    expect(result.missing).toEqual([{ start: '2024-11-03 12:00:00', end: '2024-11-04 00:00:00' }]);
  });

  it('keeps one missing range across the skipped hour', () => {
    const day = dayWindow('2024-03-10', zone);
    const present = [
      ...halfHours('2024-03-10 00:00', '2024-03-10 01:30'),
      ...halfHours('2024-03-10 04:00', '2024-03-11 00:00'),
    ];
    const result = evaluateCoverage(day, undefined, present);
    // Missing: 01:30 (then the clocks jump to 03:00), 03:00, 03:30.
    expect(result.missing).toEqual([{ start: '2024-03-10 01:30:00', end: '2024-03-10 04:00:00' }]);
    expect(result.expected - result.present).toBe(3);
  });

  it('expects 46 in a trailing 24 hours that contains the spring-forward hour', () => {
    expect(evaluateCoverage(trailingWindow('2024-03-10 12:00:00', zone), undefined, []).expected).toBe(46);
  });

  it('expects 46 on the spring-forward day in Europe/London too (01:00 to 02:00)', () => {
    const day = dayWindow('2024-03-31', 'Europe/London');
    const present = [
      ...halfHours('2024-03-31 00:00', '2024-03-31 01:00'),
      ...halfHours('2024-03-31 02:00', '2024-04-01 00:00'),
    ];
    expect(evaluateCoverage(day, undefined, present)).toMatchObject({
      expected: 46,
      present: 46,
      complete: true,
    });
  });
});

describe('the 24 hours ending at a given time', () => {
  it('spans two days and rounds the end down to the interval boundary', () => {
    const window = trailingWindow('2024-11-05 06:10:00', 'UTC');
    const present = [
      ...halfHours('2024-11-04 06:00', '2024-11-04 22:00'),
      ...halfHours('2024-11-05 01:00', '2024-11-05 06:00'),
    ];
    expect(coverageJson(evaluateCoverage(window, undefined, present))).toEqual({
      window: { start: '2024-11-04 06:00:00', end: '2024-11-05 06:00:00' },
      expected: 48,
      present: 42,
      missing: [{ start: '2024-11-04 22:00:00', end: '2024-11-05 01:00:00' }],
      complete: false,
    });
  });
});

describe('an operating schedule', () => {
  const schedule = parseOperatingSchedule(WEEKDAYS_7_TO_19);

  it('expects only open hours: 14:00 to 19:00 missing on a Monday whose feed stops at 14:00', () => {
    const result = evaluateCoverage(
      dayWindow('2024-11-04', 'UTC'),
      schedule,
      halfHours('2024-11-04 07:00', '2024-11-04 14:00'),
    );
    expect(result).toMatchObject({ expected: 24, present: 14, severity: 'partial' });
    expect(result.missing).toEqual([{ start: '2024-11-04 14:00:00', end: '2024-11-04 19:00:00' }]);
  });

  it('expects nothing on a Sunday, so an empty Sunday is complete', () => {
    expect(evaluateCoverage(dayWindow('2024-11-03', 'UTC'), schedule, [])).toMatchObject({
      expected: 0,
      complete: true,
    });
  });

  it('does not join gaps across closed hours', () => {
    // Monday 12:00 to Tuesday 12:00: open Mon 12:00-19:00 (14) and Tue 07:00-12:00 (10).
    const window = trailingWindow('2024-11-05 12:00:00', 'UTC');
    const present = [
      ...halfHours('2024-11-04 12:00', '2024-11-04 18:30'),
      ...halfHours('2024-11-05 07:30', '2024-11-05 12:00'),
    ];
    const result = evaluateCoverage(window, schedule, present);
    expect(result.expected).toBe(24);
    expect(result.missing).toEqual([
      { start: '2024-11-04 18:30:00', end: '2024-11-04 19:00:00' },
      { start: '2024-11-05 07:00:00', end: '2024-11-05 07:30:00' },
    ]);
  });

  it.each([
    ['not JSON', '{days', /not JSON/],
    ['a time off the half hour', '[{"days":["mon"],"open":"07:15","close":"19:00"}]', /half hour/],
    ['an unknown day', '[{"days":["monday"],"open":"07:00","close":"19:00"}]', /days/],
    ['close before open', '[{"days":["mon"],"open":"19:00","close":"07:00"}]', /open must come before close/],
  ])('refuses %s', (_label, json, message) => {
    expect(() => parseOperatingSchedule(json)).toThrow(message);
  });

  it('treats a blank setting as open around the clock', () => {
    expect(parseOperatingSchedule('  ')).toBeUndefined();
  });
});

describe('which windows a check looks at', () => {
  it('takes yesterday on the configured zone’s clocks', () => {
    // 03:30 UTC on 4 November is 22:30 on 3 November in New York (UTC-5).
    const now = new Date('2024-11-04T03:30:00Z');
    expect(yesterdayWindow(now, 'America/New_York')).toMatchObject({
      start: Date.parse('2024-11-02T00:00:00Z'),
    });
    expect(yesterdayWindow(now, 'UTC')).toMatchObject({ start: Date.parse('2024-11-03T00:00:00Z') });
  });

  it('checks the finished days a run recomputed, the latest first when there are too many', () => {
    const now = new Date('2024-11-04T12:00:00Z');
    const all = touchedDayWindows('2024-11-01 23:30:00', '2024-11-04 08:00:00', now, 'UTC', 31);
    expect(all.windows.map((w) => new Date(w.start).toISOString().slice(0, 10))).toEqual([
      '2024-11-01',
      '2024-11-02',
      '2024-11-03',
    ]);
    const capped = touchedDayWindows('2024-11-01 23:30:00', '2024-11-04 08:00:00', now, 'UTC', 2);
    expect(capped.windows.map((w) => new Date(w.start).toISOString().slice(0, 10))).toEqual([
      '2024-11-02',
      '2024-11-03',
    ]);
    expect(capped.skipped).toBe(1);
  });

  it('refuses an unknown zone and a malformed day', () => {
    expect(() => dayWindow('2024-11-04', 'Mars/Olympus')).toThrow(/unknown time zone 'Mars\/Olympus'/);
    expect(() => dayWindow('2024-02-30', 'UTC')).toThrow(/not a valid date/);
    expect(() => trailingWindow('yesterday', 'UTC')).toThrow(/expected a timestamp/);
  });
});
