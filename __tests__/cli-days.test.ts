import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { dataDay, dataInstant } from '../cli/days';
import { rerunCommand, statusCommand } from '../cli/ops/commands';
import { LocalTarget } from '../cli/ops/local-target';
import { loadReportData } from '../cli/report/data';
import { dayWindow } from '../handlers/coverage-check/coverage';
import {
  formatDate,
  formatTimestamp,
  parseDate,
  parseTimestamp,
} from '../handlers/coverage-check/wall-clock';
import { Lake } from '../local/lake';
import { runFile } from '../local/runner';
import { captureIo, runCli as cli } from './support/cli';
import { removeDir, tempDir, withLake, writeCsv } from './support/lake';

describe('years 0000 to 0099', () => {
  test('are read as written, not as 1900 to 1999', () => {
    expect(formatDate(parseDate('0024-11-05'))).toBe('0024-11-05');
    expect(formatTimestamp(parseTimestamp('0099-12-31 23:30:00'))).toBe('0099-12-31 23:30:00');
    expect(formatDate(parseDate('0000-01-01'))).toBe('0000-01-01');
    expect(new Date(dayWindow('0024-11-05', 'UTC').start).getUTCFullYear()).toBe(24);
  });

  test('a day that does not exist in year 24 is still refused', () => {
    expect(() => parseDate('0023-02-29')).toThrow("not a valid date or time: '0023-02-29'");
    expect(formatDate(parseDate('0024-02-29'))).toBe('0024-02-29');
  });
});

describe('a day given to a command', () => {
  const now = new Date('2026-12-02T04:00:00Z');

  test("is a calendar day within the contract's range of Done On days", () => {
    expect(dataDay('2000-01-01', now)).toBe('2000-01-01');
    expect(dataDay('2026-12-03', now)).toBe('2026-12-03');
    expect(() => dataDay('1999-12-31', now)).toThrow(
      '1999-12-31 is outside the days data can have, 2000-01-01 to 2026-12-03 (workflow/input-contract.json)',
    );
    expect(() => dataDay('2026-12-04', now)).toThrow('outside the days data can have');
    expect(() => dataDay('0024-11-05', now)).toThrow('outside the days data can have');
    expect(() => dataDay('9999-12-31', now)).toThrow('outside the days data can have');
    expect(() => dataDay('2024-02-30', now)).toThrow("expected a calendar day YYYY-MM-DD, got '2024-02-30'");
    expect(() => dataDay('24-11-05', now)).toThrow('expected a calendar day');
  });

  test('an instant (check --end) is a real time of such a day', () => {
    expect(dataInstant('2024-11-05 23:59:59', now)).toBe('2024-11-05 23:59:59');
    expect(() => dataInstant('2024-11-05 24:00:00', now)).toThrow(
      "'2024-11-05 24:00:00' is not a time of day",
    );
    expect(() => dataInstant('2024-11-05 10:60:00', now)).toThrow('is not a time of day');
    expect(() => dataInstant('2024-02-30 10:00:00', now)).toThrow(
      "expected a calendar day YYYY-MM-DD, got '2024-02-30'",
    );
    expect(() => dataInstant('0001-01-01 00:00:00', now)).toThrow(
      '0001-01-01 is outside the days data can have',
    );
    expect(() => dataInstant('2024-11-05T10:00:00Z', now)).toThrow(
      "expected a timestamp 'YYYY-MM-DD HH:MM:SS'",
    );
    expect(() => dataInstant('', now)).toThrow("expected a timestamp 'YYYY-MM-DD HH:MM:SS', got ''");
  });

  test('out of range, is refused by check --end and backfill --since/--until, naming the option, before any work', async () => {
    const dir = tempDir('agent-etl-days-');
    try {
      const lake = join(dir, 'lake');
      writeCsv(dir, 'events-2024-11-05.csv', ['2024-11-05 10:00:00,111,ONLINE,']);
      const [end, since, until] = await Promise.all([
        cli(['check', '--end', '9999-12-31 23:30:00', '--lake', lake]),
        cli(['backfill', dir, '--since', '2024-02-30', '--lake', lake]),
        cli(['backfill', dir, '--until', '0024-11-05', '--lake', lake]),
      ]);
      expect(end.code).toBe(1);
      expect(end.stderr).toMatch(
        /--end <timestamp>' argument '9999-12-31 23:30:00' is invalid\. 9999-12-31 is outside/,
      );
      expect(since.code).toBe(1);
      expect(since.stderr).toMatch(
        /--since <day>' argument '2024-02-30' is invalid\. expected a calendar day/,
      );
      expect(until.code).toBe(1);
      expect(until.stderr).toMatch(/--until <day>' argument '0024-11-05' is invalid\. 0024-11-05 is outside/);
      expect(existsSync(lake)).toBe(false);
    } finally {
      removeDir(dir);
    }
  });

  test('out of range, is refused by check, report and status, naming the option, before any work', async () => {
    const dir = tempDir('agent-etl-days-');
    try {
      const lake = join(dir, 'lake');
      writeCsv(dir, 'day.csv', ['2024-11-05 10:00:00,111,ONLINE,']);
      const [check, report, status] = await Promise.all([
        cli(['check', '--day', '0024-11-05', '--lake', lake]),
        cli(['report', '--to', '9999-12-31', '--lake', lake, '--out', join(dir, 'r.html')]),
        cli(['status', '--until', '0099-01-01', '--lake', lake]),
      ]);
      expect(check.code).toBe(1);
      expect(check.stderr).toMatch(
        /--day <date>' argument '0024-11-05' is invalid\. 0024-11-05 is outside the days/,
      );
      expect(report.code).toBe(1);
      expect(report.stderr).toMatch(
        /--to <date>' argument '9999-12-31' is invalid\. 9999-12-31 is outside the days/,
      );
      expect(status.code).toBe(1);
      expect(status.stderr).toMatch(/--until <day>' argument '0099-01-01' is invalid\./);
      for (const result of [check, report, status]) expect(result.stderr).not.toMatch(/19\d\d-|Invalid time/);
      expect(existsSync(lake)).toBe(false);
    } finally {
      removeDir(dir);
    }
  });
});

describe('report --to before the first day with data', () => {
  test('names --to, not a --from nobody gave', async () => {
    await withLake(async (lake, dir) => {
      await runFile(
        lake,
        writeCsv(dir, 'a.csv', ['2024-11-05 10:00:00,111,ONLINE,', '2024-11-07 10:00:00,111,OFFLINE,']),
      );
      const options = { timeZone: 'UTC', schedule: undefined };
      await expect(loadReportData(lake, { ...options, to: '2024-10-01' })).rejects.toThrow(
        '--to 2024-10-01 is before the first day with data, 2024-11-05; give a later --to, or --from too',
      );
      // With --from as well, the days asked for are shown, data or not.
      const data = await loadReportData(lake, { ...options, from: '2024-09-30', to: '2024-10-01' });
      expect(data.coverage.map((day) => [day.day, day.result.present])).toEqual([
        ['2024-09-30', 0],
        ['2024-10-01', 0],
      ]);
      // --to on the first day with data is a one-day range.
      expect((await loadReportData(lake, { ...options, to: '2024-11-05' })).range).toEqual({
        from: '2024-11-05',
        to: '2024-11-05',
      });
    });
  });
});

describe('status --days', () => {
  test.each([0, 367, 100_000_000, Number.MAX_SAFE_INTEGER])(
    '%d is refused with the accepted range',
    async (days) => {
      await withLake(async (lake, dir) => {
        const target = new LocalTarget(lake, {
          root: join(dir, 'lake'),
          check: false,
          timeZone: 'UTC',
          stderr: () => {},
        });
        const io = captureIo();
        await expect(statusCommand(target, { days, json: false }, io)).rejects.toThrow(
          `--days ${days}: expected a whole number of days from 1 to 366`,
        );
        expect(io.out).toEqual([]);
      });
    },
  );

  test('366 days, the most, are listed', async () => {
    await withLake(async (lake, dir) => {
      const target = new LocalTarget(lake, {
        root: join(dir, 'lake'),
        check: false,
        timeZone: 'UTC',
        stderr: () => {},
      });
      const io = captureIo();
      await statusCommand(
        target,
        { days: 366, until: '2024-11-05', json: true, now: new Date('2024-11-06T00:00:00Z') },
        io,
      );
      const days = JSON.parse(io.out.join('')).days as { day: string }[];
      expect(days).toHaveLength(366);
      expect(days[0]?.day).toBe('2023-11-06'); // 2024 is a leap year
      expect(days[365]?.day).toBe('2024-11-05');
    });
  });
});

describe('a corrupt alert-state.json', () => {
  test('run: the run stays committed, the summary is printed, the problem is one error line, exit 1', async () => {
    const dir = tempDir('agent-etl-alert-state-');
    try {
      const lake = join(dir, 'lake');
      mkdirSync(lake);
      writeFileSync(join(lake, 'alert-state.json'), '{"2024-11-05": ');
      const file = writeCsv(dir, 'day.csv', ['2024-11-05 10:00:00,111,ONLINE,']);
      const result = await cli(['run', file, '--lake', lake]);
      expect(result.code).toBe(1);
      expect(result.stdout).toMatch(/^agent-etl run: 1 file, 1 succeeded, 0 failed/);
      expect(result.stderr).toMatch(
        /^error: the coverage check failed \(the runs are committed\): .*alert-state\.json is not valid JSON .*repair it, or delete it/m,
      );
      const check = await Lake.open(lake, { readOnly: true });
      try {
        expect(await check.query('select status from pipeline_runs')).toEqual([{ status: 'SUCCEEDED' }]);
        expect(await check.query('select count(*)::int as n from agent_intervals')).toEqual([{ n: 1 }]);
      } finally {
        check.close();
      }
    } finally {
      removeDir(dir);
    }
  });

  test('rerun: every object still runs, and each check that could not be made is said', async () => {
    await withLake(async (lake, dir) => {
      const first = await runFile(lake, writeCsv(dir, 'a.csv', ['2024-11-05 10:00:00,111,ONLINE,']));
      const second = await runFile(lake, writeCsv(dir, 'b.csv', ['2024-11-06 10:00:00,222,ONLINE,']));
      const root = join(dir, 'lake');
      writeFileSync(join(root, 'alert-state.json'), '[]');
      const stderr: string[] = [];
      const target = new LocalTarget(lake, {
        root,
        check: true,
        timeZone: 'UTC',
        stderr: (text) => stderr.push(text),
      });
      const io = captureIo();
      const code = await rerunCommand(
        target,
        [first.sourceObject, second.sourceObject],
        { failed: false },
        io,
      );
      expect(code).toBe(0);
      expect(io.out.join('')).toMatch(/agent-etl rerun: 2 runs: 2 succeeded, 0 failed/);
      const errors = stderr.filter((line) => line.startsWith('error: the coverage check after run'));
      expect(errors).toHaveLength(2);
      expect(errors[0]).toMatch(
        /failed \(the run is committed\): .*does not hold a JSON object of alert states/,
      );
    });
  });
});
