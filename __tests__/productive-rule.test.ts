import { expectHours, ingest, intervalRows, productiveHours, withLake, writeCsv } from './support/lake';

// Every expected value below is worked out by hand from the rule in docs/architecture.md:
// each event's state lasts until the extension's next event (the last one to the end of its interval),
// ONLINE, REMVCEON and OFFLINE/Backoffice are productive, spans split at :00 and :30, 0.5 h cap.

describe('productive time', () => {
  test('a span across midnight and a week boundary splits into both days and both weeks', async () => {
    await withLake(async (lake, dir) => {
      const csv = writeCsv(dir, 'night.csv', [
        '2024-11-10 23:50:00,301,ONLINE,', // Sunday
        '2024-11-11 00:20:00,301,OFFLINE,Lunch', // Monday, new ISO week
        '2024-11-11 00:40:00,301, offline , backoffice ', // trimmed, any case
        '2024-11-11 01:05:00,301,LOGOUT,',
      ]);
      await ingest(lake, csv);
      expectHours(await productiveHours(lake), {
        '301|2024-11-10 23:30:00': 10 / 60, // 23:50-24:00
        '301|2024-11-11 00:00:00': 20 / 60, // 00:00-00:20 online, then lunch
        '301|2024-11-11 00:30:00': 20 / 60, // back office 00:40-01:00
        '301|2024-11-11 01:00:00': 5 / 60, // back office 01:00-01:05, then logout
      });
      const weeks = await lake.query(
        `select strftime(week_start, '%Y-%m-%d') as week, productive_hours, productive_intervals, active_intervals
         from weekly_summary order by week_start`,
      );
      expect(weeks.map((w) => w.week)).toEqual(['2024-11-04', '2024-11-11']);
      expect(weeks[0]?.productive_hours).toBeCloseTo(10 / 60, 12);
      expect(weeks[1]?.productive_hours).toBeCloseTo(45 / 60, 12);
      expect(weeks.map((w) => [Number(w.productive_intervals), Number(w.active_intervals)])).toEqual([
        [1, 1],
        [3, 3],
      ]);
    });
  });

  test('events at the same instant are ordered by action, then details', async () => {
    await withLake(async (lake, dir) => {
      const csv = writeCsv(dir, 'instant.csv', [
        '2024-11-12 10:00:00,401,ONLINE,', // OFFLINE sorts before ONLINE: the state is ONLINE
        '2024-11-12 10:00:00,401,OFFLINE,Break',
        '2024-11-12 10:10:00,401,OFFLINE,Backoffice', // BACKOFFICE sorts before BREAK: the state is Break
        '2024-11-12 10:10:00,401,OFFLINE,Break',
        '2024-11-12 10:20:00,401,REMVCEON,', // ONLINE sorts before REMVCEON: the state is REMVCEON
        '2024-11-12 10:20:00,401,ONLINE,',
        '2024-11-12 10:25:00,401,LOGOUT,',
      ]);
      await ingest(lake, csv);
      // productive 10:00-10:10 and 10:20-10:25
      expect(await intervalRows(lake)).toEqual({ '401|2024-11-12 10:00:00': [15 / 60, 7] });
    });
  });

  test('events apart by less than a millisecond keep their order and their count; time is summed in whole milliseconds', async () => {
    await withLake(async (lake, dir) => {
      const csv = writeCsv(dir, 'micro.csv', [
        '2024-11-12 09:00:00.000900,451,OFFLINE,Lunch', // 0.5 ms after the ONLINE: the state is Lunch
        '2024-11-12 09:00:00.000400,451,ONLINE,',
        '2024-11-12 09:10:00.000200,451,ONLINE,',
        '2024-11-12 09:10:00.000600,451,ONLINE,', // not a duplicate: 0.4 ms later
        '2024-11-12 09:29:59.999600,451,LOGOUT,',
        '2024-11-12 09:29:59.999800,451,ONLINE,',
        '2024-11-12 09:40:00.000700,451,LOGOUT,',
      ]);
      await ingest(lake, csv);
      // Each instant counts from its millisecond: ONLINE 09:10:00.000 to 09:29:59.999 (1,199,999 ms),
      // 09:29:59.999 to the boundary (1 ms), then 09:30:00 to 09:40:00.000 (600,000 ms)
      expect(await intervalRows(lake)).toEqual({
        '451|2024-11-12 09:00:00': [1_200_000 / 3_600_000, 6],
        '451|2024-11-12 09:30:00': [600_000 / 3_600_000, 1],
      });
    });
  });

  test('a fully productive interval is worth exactly 0.5 h; the last event lasts to the end of its interval', async () => {
    await withLake(async (lake, dir) => {
      const csv = writeCsv(dir, 'cap.csv', [
        '2024-11-12 09:00:00,501,ONLINE,',
        '2024-11-12 10:10:00,501,ONLINE,',
        '2024-11-12 10:10:00,502,ONLINE,',
      ]);
      await ingest(lake, csv);
      expect(await intervalRows(lake)).toEqual({
        '501|2024-11-12 09:00:00': [0.5, 1],
        '501|2024-11-12 09:30:00': [0.5, 0],
        '501|2024-11-12 10:00:00': [0.5, 1], // 10:00-10:10 from the first span, 10:10-10:30 from the last event
        '502|2024-11-12 10:00:00': [20 / 60, 1], // 10:10 to the end of its interval
      });
    });
  });

  test('a late file changes exactly the intervals it falls into', async () => {
    await withLake(async (lake, dir) => {
      await ingest(
        lake,
        writeCsv(dir, 'day.csv', [
          '2024-11-13 09:00:00,601,ONLINE,',
          '2024-11-13 10:00:00,601,OFFLINE,Break',
          '2024-11-13 10:15:00,601,ONLINE,',
          '2024-11-13 11:00:00,601,LOGOUT,',
          '2024-11-13 09:00:00,602,ONLINE,',
          '2024-11-13 09:45:00,602,LOGOUT,',
        ]),
      );
      const before = await intervalRows(lake);
      expect(before).toEqual({
        '601|2024-11-13 09:00:00': [0.5, 1],
        '601|2024-11-13 09:30:00': [0.5, 0],
        '601|2024-11-13 10:00:00': [0.25, 2], // 10:15-10:30
        '601|2024-11-13 10:30:00': [0.5, 0],
        '601|2024-11-13 11:00:00': [0, 1], // the logout: an event, no productive time
        '602|2024-11-13 09:00:00': [0.5, 1],
        '602|2024-11-13 09:30:00': [0.25, 1], // 09:30-09:45
      });
      await ingest(
        lake,
        writeCsv(dir, 'late.csv', [
          '2024-11-13 09:40:00,601,OFFLINE,Lunch',
          '2024-11-13 09:50:00,601,ONLINE,',
        ]),
      );
      // only 601's 09:30 interval changes: 09:30-09:40 and 09:50-10:00 productive
      expect(await intervalRows(lake)).toEqual({ ...before, '601|2024-11-13 09:30:00': [20 / 60, 2] });
    });
  });

  test('ingesting a changed version of an object replaces what the old one produced', async () => {
    await withLake(async (lake, dir) => {
      const first = writeCsv(dir, 'shift.csv', [
        '2024-11-14 10:00:00,701,ONLINE,',
        '2024-11-14 11:00:00,701,OFFLINE,Break',
        '2024-11-14 11:10:00,701,LOGOUT,',
      ]);
      await ingest(lake, first);
      expect(await intervalRows(lake)).toEqual({
        '701|2024-11-14 10:00:00': [0.5, 1],
        '701|2024-11-14 10:30:00': [0.5, 0],
        '701|2024-11-14 11:00:00': [0, 2],
      });
      const second = writeCsv(dir, 'shift.csv', [
        '2024-11-14 10:00:00,701,ONLINE,',
        '2024-11-14 10:15:00,701,OFFLINE,Break',
      ]);
      await ingest(lake, second);
      expect(await intervalRows(lake)).toEqual({ '701|2024-11-14 10:00:00': [0.25, 2] });
      const [week] = await lake.query('select productive_hours, active_intervals from weekly_summary');
      expect(week?.productive_hours).toBe(0.25);
      expect(Number(week?.active_intervals)).toBe(1);
    });
  });

  test('an extension that a new version of an object no longer holds loses what the old version gave it', async () => {
    await withLake(async (lake, dir) => {
      await ingest(
        lake,
        writeCsv(dir, 'team.csv', [
          '2024-11-14 10:00:00,711,ONLINE,',
          '2024-11-14 10:20:00,711,LOGOUT,',
          '2024-11-14 10:00:00,712,ONLINE,',
          '2024-11-14 10:10:00,712,LOGOUT,',
        ]),
      );
      expect(Object.keys(await intervalRows(lake))).toEqual([
        '711|2024-11-14 10:00:00',
        '712|2024-11-14 10:00:00',
      ]);
      await ingest(
        lake,
        writeCsv(dir, 'team.csv', ['2024-11-14 10:00:00,711,ONLINE,', '2024-11-14 10:20:00,711,LOGOUT,']),
      );
      expect(await intervalRows(lake)).toEqual({ '711|2024-11-14 10:00:00': [20 / 60, 2] });
      const weeks = await lake.query('select extension from weekly_summary order by extension');
      expect(weeks.map((w) => w.extension)).toEqual(['711']);
    });
  });

  test('an exact duplicate across two files counts once', async () => {
    await withLake(async (lake, dir) => {
      await ingest(
        lake,
        writeCsv(dir, 'a.csv', ['2024-11-15 08:00:00,801,ONLINE,', '2024-11-15 08:20:00,801,OFFLINE,Break']),
        writeCsv(dir, 'b.csv', ['2024-11-15 08:20:00,801,offline,BREAK', '2024-11-15 08:25:00,801,ONLINE,']),
      );
      // 08:00-08:20 and 08:25-08:30 (the last event lasts to the end of its interval)
      expect(await intervalRows(lake)).toEqual({ '801|2024-11-15 08:00:00': [25 / 60, 3] });
    });
  });
});

describe('a productive span of 300 days', () => {
  test("is split into every interval it crosses, past Trino's 10,000-entry sequence cap", async () => {
    await withLake(async (lake, dir) => {
      // ONLINE at 00:10 on 1 Jan 2024, LOGOUT exactly 300 days later at 00:10 (2024 is a leap year:
      // 1 Jan + 300 days = 27 Oct). 20 minutes in the first interval, 14,399 whole intervals between,
      // 10 minutes in the last: 14,401 productive rows, 7,200 hours in all.
      const csv = writeCsv(dir, 'long.csv', [
        '2024-01-01 00:10:00,950,ONLINE,',
        '2024-10-27 00:10:00,950,LOGOUT,',
      ]);
      const [run] = await ingest(lake, csv);
      expect(run?.status).toBe('SUCCEEDED');
      const [totals] = await lake.query(
        `select count(*) filter (where productive_ms > 0) as productive_rows, sum(productive_ms) as ms,
                max(productive_hours) as max_hours, min(interval_start) as first, max(interval_start) as last
         from agent_intervals where extension = '950'`,
      );
      expect(Number(totals?.productive_rows)).toBe(300 * 48 + 1);
      expect(Number(totals?.ms)).toBe(300 * 24 * 3_600_000);
      expect(Number(totals?.max_hours)).toBe(0.5);
      expect(String(totals?.first)).toBe('2024-01-01 00:00:00');
      expect(String(totals?.last)).toBe('2024-10-27 00:00:00');
      const hours = await productiveHours(lake);
      expect(hours['950|2024-01-01 00:00:00']).toBeCloseTo(20 / 60, 12);
      expect(hours['950|2024-10-27 00:00:00']).toBeCloseTo(10 / 60, 12);
      const [weeks] = await lake.query(
        `select sum(productive_ms) as ms from weekly_summary where extension = '950'`,
      );
      expect(Number(weeks?.ms)).toBe(300 * 24 * 3_600_000);
    });
  }, 120_000);
});
