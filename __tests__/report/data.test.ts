import { DEFAULT_DAYS, loadReportData, type ReportOptions } from '../../cli/report/data';
import { renderPage } from '../../cli/report/page';
import { parseOperatingSchedule } from '../../handlers/coverage-check/schedule';
import type { Lake } from '../../local/lake';
import { ingest, withLake, writeCsv } from '../support/lake';

const UTC: ReportOptions = { timeZone: 'UTC', schedule: undefined };

/** An event every half hour of each day, so every interval of those days has a row; the day ends logged out. */
function fullDays(days: readonly string[]): string[] {
  return days.flatMap((day) =>
    Array.from(
      { length: 48 },
      (_, slot) =>
        `${day} ${String(Math.floor(slot / 2)).padStart(2, '0')}:${slot % 2 === 0 ? '00' : '30'}:05,701,${slot === 47 ? 'LOGOUT' : 'ONLINE'},`,
    ),
  );
}

async function lakeWith(lake: Lake, dir: string, days: readonly string[]): Promise<void> {
  await ingest(lake, writeCsv(dir, 'days.csv', fullDays(days)));
}

describe('report data', () => {
  test('a spring-forward day: 46 intervals on the clocks, 02:00 and 02:30 skipped, nothing missing', () =>
    withLake(async (lake, dir) => {
      // 02:00-02:59 never happens on 10 March 2024 in New York; events at those readings are rows all the same.
      await lakeWith(lake, dir, ['2024-03-10', '2024-11-03']);
      const data = await loadReportData(lake, {
        from: '2024-03-10',
        to: '2024-03-10',
        timeZone: 'America/New_York',
        schedule: undefined,
      });
      const [day] = data.coverage;
      expect(day?.clockIntervals).toBe(46);
      expect(day?.result.expected).toBe(46);
      expect(day?.result.complete).toBe(true);
      expect(day?.cells.flatMap((cell, slot) => (cell === 'skipped' ? [slot] : []))).toEqual([4, 5]);
    }));

  test('a fall-back day: 50 intervals on the clocks, 48 expected (the repeated hour shares its rows)', () =>
    withLake(async (lake, dir) => {
      await lakeWith(lake, dir, ['2024-11-03']);
      const data = await loadReportData(lake, { ...UTC, timeZone: 'America/New_York' });
      expect(data.coverage.map((day) => [day.day, day.clockIntervals, day.result.expected])).toEqual([
        ['2024-11-03', 50, 48],
      ]);
      expect(renderPage(data, { source: 'test', generatedAt: new Date(0).toISOString() })).toContain(
        'clocks fall back: 50 intervals',
      );
    }));

  test('opening hours: intervals outside them are neither expected nor missing', () =>
    withLake(async (lake, dir) => {
      // 2024-11-09 is a Saturday: closed all day; Friday the 8th is open 07:00-19:00.
      await ingest(
        lake,
        writeCsv(dir, 'fri.csv', ['2024-11-08 07:10:00,701,ONLINE,', '2024-11-09 10:00:00,701,LOGOUT,']),
      );
      const data = await loadReportData(lake, {
        ...UTC,
        schedule: parseOperatingSchedule(
          '[{"days":["mon","tue","wed","thu","fri"],"open":"07:00","close":"19:00"}]',
        ),
      });
      const [friday, saturday] = data.coverage;
      expect(friday?.cells.filter((cell) => cell === 'closed')).toHaveLength(14 + 10);
      expect(friday?.result.expected).toBe(24);
      // ONLINE at 07:10 lasts to the LOGOUT the next morning: every open interval of Friday has a row.
      expect(friday?.result.complete).toBe(true);
      expect(saturday?.cells.every((cell) => cell === 'closed')).toBe(true);
      expect(saturday?.result.expected).toBe(0);
    }));

  test(`by default: the last ${DEFAULT_DAYS} days, ending on the last day with data, gaps included`, () =>
    withLake(async (lake, dir) => {
      const days = Array.from({ length: 20 }, (_, i) => `2024-10-${String(i + 1).padStart(2, '0')}`).filter(
        (day) => day !== '2024-10-15',
      );
      await lakeWith(lake, dir, days);
      const data = await loadReportData(lake, UTC);
      expect(data.range).toEqual({ from: '2024-10-07', to: '2024-10-20' });
      expect(data.coverage).toHaveLength(14);
      const empty = data.coverage.find((day) => day.day === '2024-10-15');
      expect(empty?.result.severity).toBe('no_data');
      expect(empty?.result.missing).toEqual([{ start: '2024-10-15 00:00:00', end: '2024-10-16 00:00:00' }]);
      expect(data.dailyHours.map((row) => row.day)).not.toContain('2024-10-15');
    }));

  test('a short history starts at its first day; --from alone shows that day and the 13 after it', () =>
    withLake(async (lake, dir) => {
      await lakeWith(lake, dir, ['2024-10-02', '2024-10-03']);
      expect((await loadReportData(lake, UTC)).range).toEqual({ from: '2024-10-02', to: '2024-10-03' });
      expect((await loadReportData(lake, { ...UTC, from: '2024-10-01' })).range).toEqual({
        from: '2024-10-01',
        to: '2024-10-14',
      });
    }));

  test('bad ranges are refused with the reason', () =>
    withLake(async (lake) => {
      await expect(loadReportData(lake, { ...UTC, from: '2024-10-05', to: '2024-10-01' })).rejects.toThrow(
        '--from 2024-10-05 is after --to 2024-10-01',
      );
      await expect(loadReportData(lake, { ...UTC, from: '2024-02-30', to: '2024-03-01' })).rejects.toThrow(
        "not a valid date or time: '2024-02-30'",
      );
      await expect(loadReportData(lake, { ...UTC, from: '2023-01-01', to: '2024-12-31' })).rejects.toThrow(
        '731 days asked for; a report shows at most 366',
      );
      await expect(loadReportData(lake, { ...UTC, timeZone: 'Mars/Olympus' })).rejects.toThrow(
        "unknown time zone 'Mars/Olympus'",
      );
    }));

  test('an empty lake still makes a page: no days, no runs, no rejects', () =>
    withLake(async (lake) => {
      const data = await loadReportData(lake, UTC);
      expect(data.range).toBeUndefined();
      const html = renderPage(data, { source: 'test', generatedAt: new Date(0).toISOString() });
      expect(html).toContain('agent_intervals has no rows yet');
      expect(html).toContain('pipeline_runs is empty');
      expect(html).not.toContain('<svg');
    }));

  test('weekly hours: the top 10 extensions by hours, the rest summed in one row', () =>
    withLake(async (lake) => {
      // Twelve extensions with 1 to 12 hours in the week of 2024-11-04.
      for (let hours = 1; hours <= 12; hours += 1) {
        await lake.query(`insert into weekly_summary values (?, date '2024-11-04', ?, ?, 2, 2)`, [
          `e${String(hours).padStart(2, '0')}`,
          hours * 3_600_000,
          hours,
        ]);
      }
      const data = await loadReportData(lake, { ...UTC, from: '2024-11-04', to: '2024-11-10' });
      const named = data.weeklyHours.filter((row) => row.extension !== null);
      expect(named.map((row) => row.extension).sort()).toEqual(
        Array.from({ length: 10 }, (_, i) => `e${String(i + 3).padStart(2, '0')}`),
      );
      expect(data.weeklyHours.filter((row) => row.extension === null)).toEqual([
        { weekStart: '2024-11-04', extension: null, productiveHours: 3, extensions: 2 },
      ]);
    }));

  test('rejected rows: one row per kind of reason whatever value it quotes; examples per kind', () =>
    withLake(async (lake, dir) => {
      await ingest(
        lake,
        writeCsv(dir, 'bad.csv', [
          '2024-11-04 10:00:00,701,ONLINE,',
          '13/45/2024 10:00,701,ONLINE,',
          'yesterday,702,ONLINE,',
          'tomorrow,703,ONLINE,',
          'soon,704,ONLINE,',
          '2024-11-04 11:00:00,,ONLINE,',
        ]),
      );
      const data = await loadReportData(lake, UTC);
      expect(data.rejectsByReason.map((row) => [row.rejectedRows, row.files])).toEqual([
        [4, 1],
        [1, 1],
      ]);
      const [dates] = data.rejectsByReason;
      expect(dates?.reasonKind).toContain('"..."');
      expect(dates?.reasonKind).not.toMatch(/13\/45|yesterday/);
      // The first three of the four bad dates, by line; the reason keeps its value there.
      const examples = data.rejectExamples.filter((row) => row.reasonKind === dates?.reasonKind);
      expect(examples.map((row) => [row.sourceLine, row.rawLine])).toEqual([
        [3, '13/45/2024 10:00,701,ONLINE,'],
        [4, 'yesterday,702,ONLINE,'],
        [5, 'tomorrow,703,ONLINE,'],
      ]);
      expect(examples[1]?.reason).toContain('yesterday');
    }));
});
