import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { canRunAsAnotherUser, runCli as cli, runCliAsAnotherUser } from './support/cli';
import { removeDir, tempDir, writeCsv } from './support/lake';

const ROOT = join(__dirname, '..');

const lines = (text: string) => text.trimEnd().split('\n');
const sha = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

let dir: string;
let lake: string;
beforeEach(() => {
  dir = tempDir('agent-etl-edges-');
  lake = join(dir, 'lake');
});
afterEach(() => removeDir(dir));

describe('files whose names look like patterns', () => {
  test('a file named *.csv or day?.csv is read as itself, not as a pattern', async () => {
    writeCsv(dir, 'day1.csv', ['2024-11-05 10:00:00,111,ONLINE,']);
    const star = writeCsv(dir, '*.csv', ['2024-11-05 10:00:00,222,ONLINE,']);
    const question = writeCsv(dir, 'day?.csv', ['2024-11-05 10:00:00,333,ONLINE,']);
    const result = await cli(['run', star, question, '--lake', lake, '--no-check']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/read 2, loaded 2, rejected 0/);
    const intervals = await cli(['export', 'intervals', '--lake', lake, '--format', 'json']);
    expect(JSON.parse(intervals.stdout).map((row: { extension: string }) => row.extension)).toEqual([
      '222',
      '333',
    ]);
  });
});

describe('malformed CSV', () => {
  test('one unbalanced quote costs one record; the summary counts it', async () => {
    const rows = Array.from({ length: 100 }, (_, i) => {
      const at = `2024-11-05 ${String(8 + Math.floor(i / 10)).padStart(2, '0')}:${String((i % 10) * 5).padStart(2, '0')}:00`;
      return i === 50 ? `${at},700,"ONLINE,` : `${at},700,ONLINE,`;
    });
    const file = writeCsv(dir, 'quote.csv', rows);
    const result = await cli(['run', file, '--lake', lake, '--no-check']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/read 100, loaded 99, rejected 1/);
    const rejects = JSON.parse((await cli(['export', 'rejects', '--lake', lake, '--format', 'json'])).stdout);
    expect(rejects.map((r: { source_line: number; reason: string }) => [r.source_line, r.reason])).toEqual([
      [52, 'unterminated quoted field'],
    ]);
  });

  test('CRLF/LF mixes, quoted CRLF, a record past the size limit: loaded or rejected with physical line numbers', async () => {
    const file = join(dir, 'mixed.csv');
    const long = `2024-11-05 10:20:00,703,ONLINE,${'x'.repeat(1_100_000)}`;
    writeFileSync(
      file,
      [
        'Done On,Extension,Action,Details\r\n', // 1
        '2024-11-05 10:00:00,701,ONLINE,\n', // 2
        '2024-11-05 10:05:00,702,OFFLINE,"two\r\n', // 3
        'lines"\r\n', // 4
        '2024-11-05 10:10:00,701,OFFLINE,"again\r\n', // 5
        'two"\r\n', // 6
        'not a date,701,ONLINE,\r\n', // 7
        `${long}\n`, // 8
        '2024-11-05 10:30:00,701,LOGOUT,\r\n', // 9
      ].join(''),
    );
    const result = await cli(['run', file, '--lake', lake, '--no-check']);
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
    expect(result.stdout).toMatch(/read 6, loaded 4, rejected 2/);
    const rejects = JSON.parse((await cli(['export', 'rejects', '--lake', lake, '--format', 'json'])).stdout);
    expect(rejects.map((r: { source_line: number }) => r.source_line)).toEqual([7, 8]);
    expect(rejects[0].raw_line).toBe('not a date,701,ONLINE,');
    expect(rejects[1].reason).toMatch(/^record longer than \d+ bytes$/);
    expect(rejects[1].raw_line).toMatch(/^2024-11-05 10:20:00,703,ONLINE,x+… \[cut: 1100031 bytes in all\]$/);
  });

  test('a file with bare CR line ends is refused with one line', async () => {
    const file = join(dir, 'cr.csv');
    writeFileSync(file, 'Done On,Extension,Action,Details\r2024-11-05 10:00:00,1,ONLINE,\r');
    const result = await cli(['run', file, '--lake', lake, '--no-check']);
    expect(result.code).toBe(1);
    expect(lines(result.stderr)).toEqual([
      `error: ${file}: lines end with a bare carriage return (CR); save the file with LF or CRLF line ends`,
    ]);
  });

  test('tabs and no-break spaces around fields are trimmed: the same extension, a productive state', async () => {
    const file = writeCsv(dir, 'spaces.csv', [
      '2024-11-05 10:00:00,4\t,\u00a0ONLINE\t,',
      '2024-11-05 10:10:00,\u00a04,OFFLINE,\tBackoffice\u00a0',
      '2024-11-05 10:20:00,4,LOGOUT,',
    ]);
    expect((await cli(['run', file, '--lake', lake, '--no-check'])).code).toBe(0);
    const intervals = JSON.parse(
      (await cli(['export', 'intervals', '--lake', lake, '--format', 'json'])).stdout,
    );
    expect(intervals).toEqual([
      {
        extension: '4',
        interval_start: '2024-11-05 10:00:00',
        productive_seconds: 1200,
        productive_hours: 1 / 3,
        event_count: 3,
      },
    ]);
  });
});

describe('exports', () => {
  test('CSV neutralises cells a spreadsheet would run as formulas; numbers stay numbers; JSON is unchanged', async () => {
    const file = writeCsv(dir, 'formula.csv', [
      '2024-11-05 10:00:00,"=HYPERLINK(""http://x"")",ONLINE,',
      '2024-11-05 10:00:00,-12,ONLINE,',
      '=1+2,801,ONLINE,',
      '2024-11-05 10:00:00,@SUM(A1),ONLINE,',
    ]);
    expect((await cli(['run', file, '--lake', lake, '--no-check'])).code).toBe(0);
    const csv = lines((await cli(['export', 'intervals', '--lake', lake])).stdout);
    expect(csv.slice(1).map((line) => line.split(',')[0])).toEqual([
      '-12',
      `"'=HYPERLINK(""http://x"")"`,
      "'@SUM(A1)",
    ]);
    const rejects = lines((await cli(['export', 'rejects', '--lake', lake])).stdout);
    expect(rejects[1]).toMatch(/,4,"Done On ""=1\+2"" is not an accepted timestamp","'=1\+2,801,ONLINE,"$/);
    const json = JSON.parse((await cli(['export', 'rejects', '--lake', lake, '--format', 'json'])).stdout);
    expect(json[0].raw_line).toBe('=1+2,801,ONLINE,');
  });

  test('hours are printed as plain decimals, never with an exponent', async () => {
    const file = writeCsv(dir, 'tiny.csv', [
      '2024-11-05 10:00:00,801,ONLINE,',
      '2024-11-05 10:00:01,801,LOGOUT,',
    ]);
    expect((await cli(['run', file, '--lake', lake, '--no-check'])).code).toBe(0);
    const [, row] = lines((await cli(['export', 'intervals', '--lake', lake])).stdout);
    const hours = row?.split(',')[3] ?? '';
    expect(hours).not.toMatch(/e/i);
    expect(Number(hours)).toBeCloseTo(1 / 3600, 15);
  });

  test('--out inside the lake is refused with one line and the lake is untouched', async () => {
    const file = writeCsv(dir, 'a.csv', ['2024-11-05 10:00:00,801,ONLINE,']);
    expect((await cli(['run', file, '--lake', lake, '--no-check'])).code).toBe(0);
    const before = sha(join(lake, 'warehouse.duckdb'));
    for (const out of [join(lake, 'warehouse.duckdb'), join(lake, 'silver', 'x.csv'), lake]) {
      const result = await cli(['export', 'intervals', '--lake', lake, '--out', out]);
      expect(result.code).toBe(1);
      expect(lines(result.stderr)).toHaveLength(1);
      expect(result.stderr).toMatch(
        /^error: --out .* is inside the lake .*; write the export to a file outside it\n$/,
      );
    }
    expect(sha(join(lake, 'warehouse.duckdb'))).toBe(before);
    const outside = join(dir, 'intervals.csv');
    expect((await cli(['export', 'intervals', '--lake', lake, '--out', outside])).code).toBe(0);
    expect(readFileSync(outside, 'utf8')).toMatch(/^extension,interval_start,/);
  });

  test('a bad --limit is one line, before any query', async () => {
    for (const limit of ['abc', '1e3', '-1', '1.5', '99999999999999999999']) {
      const result = await cli(['export', 'intervals', '--lake', lake, '--limit', limit]);
      expect(result.code).toBe(1);
      expect(lines(result.stderr)[0]).toBe(
        `error: option '--limit <rows>' argument '${limit}' is invalid. expected a whole number (digits only)`,
      );
      expect(result.stderr).not.toMatch(/Conversion|DuckDB/);
    }
  });
});

describe('settings are validated before any work', () => {
  test.each([
    ['AGENT_ETL_TIMEZONE', 'Mars/Olympus', /^error: AGENT_ETL_TIMEZONE: unknown time zone 'Mars\/Olympus'/],
    [
      'AGENT_ETL_OPERATING_SCHEDULE',
      '{"days":',
      /^error: AGENT_ETL_OPERATING_SCHEDULE: operating schedule is not JSON/,
    ],
    ['AGENT_ETL_WEBHOOK_URL', 'hooks.example.com/x', /^error: AGENT_ETL_WEBHOOK_URL: not a valid URL/],
    [
      'AGENT_ETL_WEBHOOK_FORMAT',
      'teams',
      /^error: AGENT_ETL_WEBHOOK_FORMAT: 'teams' is not one of slack, json/,
    ],
    ['AGENT_ETL_MEMORY_LIMIT', 'lots', /^error: AGENT_ETL_MEMORY_LIMIT: 'lots' is not a DuckDB memory limit/],
  ])('%s', async (name, value, message) => {
    const file = writeCsv(dir, 'a.csv', ['2024-11-05 10:00:00,801,ONLINE,']);
    const result = await cli(['run', file, '--lake', lake], { [name]: value });
    expect(result.code).toBe(1);
    expect(lines(result.stderr)).toHaveLength(1);
    expect(result.stderr).toMatch(message);
    expect(result.stdout).toBe('');
    expect(readFileSync(file, 'utf8')).toMatch(/801/);
    expect(() => readFileSync(join(lake, 'warehouse.duckdb'))).toThrow(/ENOENT/);
  });
});

describe('a folder with bad entries', () => {
  test('each bad entry gets one error line, the other files load, exit 1', async () => {
    const inbox = join(dir, 'inbox');
    mkdirSync(inbox);
    writeCsv(inbox, 'a.csv', ['2024-11-05 10:00:00,801,ONLINE,']);
    symlinkSync(join(dir, 'gone.csv'), join(inbox, 'b.csv'));
    mkdirSync(join(inbox, 'c.csv'));
    writeCsv(inbox, 'd.csv', ['2024-11-05 10:00:00,802,ONLINE,']);
    const result = await cli(['run', inbox, join(dir, 'missing.csv'), '--lake', lake, '--no-check']);
    expect(result.code).toBe(1);
    expect(lines(result.stderr)).toEqual([
      `error: ${join(inbox, 'b.csv')}: a symbolic link to nothing`,
      `error: ${join(inbox, 'c.csv')}: a directory, not a file`,
      `error: ${join(dir, 'missing.csv')}: no such file or directory`,
    ]);
    expect(result.stdout).toMatch(/2 files, 2 succeeded, 0 failed/);
  });
});

describe('clear errors and small things', () => {
  test('a corrupt alert-state.json is named, with what to do', async () => {
    const file = writeCsv(dir, 'a.csv', ['2024-11-05 10:00:00,801,ONLINE,']);
    expect((await cli(['run', file, '--lake', lake, '--no-check'])).code).toBe(0);
    writeFileSync(join(lake, 'alert-state.json'), '{"2024-11-05": ');
    const result = await cli(['check', '--day', '2024-11-05', '--lake', lake]);
    expect(result.code).toBe(1);
    expect(lines(result.stderr)).toHaveLength(1);
    expect(result.stderr).toContain(`${join(lake, 'alert-state.json')} is not valid JSON`);
    expect(result.stderr).toContain('delete it to forget which alerts were sent');
  });

  test.each([
    [
      ['generate', '--out', 'x.csv', '--start', '2024-02-30'],
      /expected a calendar day YYYY-MM-DD, got '2024-02-30'/,
    ],
    [['check', '--day', '', '--lake', 'lake'], /expected a calendar day YYYY-MM-DD, got ''/],
    [['check', '--end', '', '--lake', 'lake'], /expected a timestamp 'YYYY-MM-DD HH:MM:SS', got ''/],
  ])('%j is refused with one line', async (args, message) => {
    const result = await cli(args);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(message);
  });

  test('one missing interval is "1 interval missing" in the alert', async () => {
    const file = writeCsv(dir, 'a.csv', [
      '2024-11-05 00:00:00,801,ONLINE,',
      '2024-11-05 11:00:00,801,LOGOUT,',
      '2024-11-05 12:00:00,802,ONLINE,',
      '2024-11-05 23:59:00,802,LOGOUT,',
    ]);
    expect((await cli(['run', file, '--lake', lake, '--no-check'])).code).toBe(0);
    const result = await cli(['check', '--day', '2024-11-05', '--lake', lake]);
    expect(result.code).toBe(3);
    const [alert] = lines(readFileSync(join(lake, 'outbox', 'notifications.jsonl'), 'utf8')).map((l) =>
      JSON.parse(l),
    );
    expect(alert.subject).toBe('Coverage gap: 1 interval missing, 2024-11-05 (UTC)');
    expect(alert.message).toContain('1 of 48 expected intervals has no data');
  });
});

describe('a read-only lake', () => {
  (canRunAsAnotherUser ? test : test.skip)(
    'export works for a user who cannot write the lake, and changes nothing',
    async () => {
      const file = writeCsv(dir, 'a.csv', ['2024-11-05 10:00:00,801,ONLINE,']);
      expect((await cli(['run', file, '--lake', lake, '--no-check'])).code).toBe(0);
      const before = readdirSync(lake, { recursive: true, encoding: 'utf8' }).sort();
      const warehouse = sha(join(lake, 'warehouse.duckdb'));
      const exported = runCliAsAnotherUser(['export', 'intervals', '--lake', lake]);
      expect([exported.status, exported.stderr]).toEqual([0, '']);
      const stdout = exported.stdout;
      expect(stdout).toBe(
        'extension,interval_start,productive_seconds,productive_hours,event_count\n801,2024-11-05 10:00:00,1800,0.5,1\n',
      );
      expect(readdirSync(lake, { recursive: true, encoding: 'utf8' }).sort()).toEqual(before);
      expect(sha(join(lake, 'warehouse.duckdb'))).toBe(warehouse);
    },
  );
});

describe('the bundled sample', () => {
  test('is the generator output for a 24/7 center with one outage, and the first run reports exactly that gap', async () => {
    const sample = join(ROOT, 'data', 'sample', 'agent-events-week.csv');
    const again = join(dir, 'again.csv');
    const generated = await cli([
      'generate',
      '--out',
      again,
      '--around-the-clock',
      '--outage-start',
      '2024-11-06 14:00',
      '--outage-minutes',
      '120',
    ]);
    expect(generated.code).toBe(0);
    expect(sha(again)).toBe(sha(sample));
    const result = await cli(['run', join(ROOT, 'data', 'sample'), '--lake', lake]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/7 days checked, 1 with gaps/);
    expect(result.stdout).toMatch(/2024-11-06 \(UTC\): 3 of 48 intervals missing/);
    const check = await cli(['check', '--day', '2024-11-06', '--lake', lake]);
    expect(check.stdout).toContain('missing 2024-11-06 14:30:00 to 2024-11-06 16:00:00');
  });
});

describe('the check after a run', () => {
  test('a webhook that never answers does not make a committed run look failed', async () => {
    const { createServer } = await import('node:http');
    const held: import('node:http').ServerResponse[] = [];
    const server = createServer((_, response) => held.push(response));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as import('node:net').AddressInfo;
    const dir = tempDir('agent-etl-hang-');
    try {
      const csv = writeCsv(dir, 'day.csv', [
        '2024-11-18 09:00:00,901,ONLINE,',
        '2024-11-18 09:10:00,901,LOGOUT,',
      ]);
      const lake = join(dir, 'lake');
      const result = await cli(['run', csv, '--lake', lake], {
        AGENT_ETL_WEBHOOK_URL: `http://127.0.0.1:${port}/hook`,
      });
      expect(held.length).toBeGreaterThan(0);
      expect(result.code).toBe(0);
      expect(result.stdout).toMatch(/1 succeeded, 0 failed/);
      expect(result.stderr).not.toMatch(/error: .*day\.csv/);
      const runs = await cli(['export', 'runs', '--lake', lake, '--format', 'json']);
      expect(JSON.parse(runs.stdout).map((r: { status: string }) => r.status)).toEqual(['SUCCEEDED']);
    } finally {
      for (const response of held) response.destroy();
      server.close();
      removeDir(dir);
    }
  }, 120_000);
});

describe('fault drills through the command line', () => {
  test('AGENT_ETL_FAULT fails the run with exit 1 and the state named; a bad value fails before any work', async () => {
    const dir = tempDir('agent-etl-drill-');
    try {
      const csv = writeCsv(dir, 'day.csv', [
        '2024-11-18 09:00:00,901,ONLINE,',
        '2024-11-18 09:40:00,901,LOGOUT,',
      ]);
      const lake = join(dir, 'lake');
      const failed = await cli(['run', csv, '--lake', lake], { AGENT_ETL_FAULT: 'MergeIntervals:after' });
      expect(failed.code).toBe(1);
      expect(failed.stdout).toMatch(/0 succeeded, 1 failed/);
      expect(failed.stderr).toMatch(/error: .*day\.csv: .*fault injected after MergeIntervals/);
      const runs = JSON.parse((await cli(['export', 'runs', '--lake', lake, '--format', 'json'])).stdout);
      expect(runs.map((r: { status: string; error: string }) => [r.status, r.error.split(':')[0]])).toEqual([
        ['FAILED', 'MergeIntervals'],
      ]);
      expect((await cli(['export', 'intervals', '--lake', lake])).stdout.trim().split('\n')).toHaveLength(1);

      const bad = await cli(['run', csv, '--lake', join(dir, 'other')], { AGENT_ETL_FAULT: 'Merge:later' });
      expect(bad.code).toBe(1);
      expect(bad.stderr).toMatch(/^error: AGENT_ETL_FAULT must be/);
      expect(existsSync(join(dir, 'other'))).toBe(false);
    } finally {
      removeDir(dir);
    }
  }, 120_000);
});
