import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Lake } from '../local/lake';
import { ACCEPTED_DONE_ON, latestAcceptedDay } from '../workflow/input-contract';
import { ingest, withLake } from './support/lake';

const HEADER = 'Done On,Extension,Action,Details';

/**
 * Rows every accepted `Done On` form can take: the export's common format (as written, padded with
 * ASCII whitespace, padded with Unicode whitespace), each other accepted format, and the first
 * accepted instant. Each with the instant, extension, action and details it must load as.
 */
const ACCEPTED: readonly (readonly [string, string, string, string, string])[] = [
  ['11/4/2024 8:42:35 AM,101,LOGIN,', '2024-11-04 08:42:35.000', '101', 'LOGIN', ''],
  ['11/04/2024 01:30:00 PM,102,ONLINE,', '2024-11-04 13:30:00.000', '102', 'ONLINE', ''],
  [' 11/4/2024 8:43:00 AM\t,103,ONLINE,', '2024-11-04 08:43:00.000', '103', 'ONLINE', ''],
  [
    '\u00a011/4/2024 9:00:00 AM\u3000,\u2003104\u00a0, ONLINE ,\u205fa note\u2009',
    '2024-11-04 09:00:00.000',
    '104',
    'ONLINE',
    'a note',
  ],
  ['2024-11-05 10:00:00,105,OFFLINE,Lunch', '2024-11-05 10:00:00.000', '105', 'OFFLINE', 'Lunch'],
  ['2024-11-05 10:00:00.250,106,ONLINE,', '2024-11-05 10:00:00.250', '106', 'ONLINE', ''],
  ['2024-11-05T10:00:00,107,ONLINE,', '2024-11-05 10:00:00.000', '107', 'ONLINE', ''],
  ['2024-11-05T10:00:00.5,108,ONLINE,', '2024-11-05 10:00:00.500', '108', 'ONLINE', ''],
  [' 2024-11-05 11:00:00 ,109,REMVCEON,', '2024-11-05 11:00:00.000', '109', 'REMVCEON', ''],
  ['1/1/2000 12:00:00 AM,110,LOGOUT,', '2000-01-01 00:00:00.000', '110', 'LOGOUT', ''],
];

/** What the lake loaded from one object, by line: [line, instant, extension, action, details]. */
async function loaded(lake: Lake, file: string): Promise<unknown[][]> {
  const rows = await lake.query(
    `select source_line, strftime(done_on, '%Y-%m-%d %H:%M:%S.%g') as at, extension, action, details
     from agent_events where source_object like ? order by source_line`,
    [`%/${file}`],
  );
  return rows.map((r) => [Number(r.source_line), r.at, r.extension, r.action, r.details]);
}

/** Loads `lines` (after the header) as `name` and returns the statements the loader ran. */
async function load(lake: Lake, dir: string, name: string, lines: readonly string[]): Promise<string[]> {
  const path = join(dir, name);
  writeFileSync(path, `${[HEADER, ...lines].join('\n')}\n`);
  const statements: string[] = [];
  const exec = lake.exec.bind(lake);
  const spy = jest.spyOn(lake, 'exec').mockImplementation(async (sql: string) => {
    statements.push(sql);
    await exec(sql);
  });
  try {
    const [run] = await ingest(lake, path);
    expect(run?.status).toBe('SUCCEEDED');
  } finally {
    spy.mockRestore();
  }
  return statements;
}

/** Whether the loader had to use the splitter. */
const split = (statements: readonly string[]) =>
  statements.some((sql) => sql.includes('create temp table load_split'));

/** How many times the loader typed the file with DuckDB's reader. */
const typings = (statements: readonly string[]) =>
  statements.filter((sql) => sql.includes('create temp table load_rows') && sql.includes('read_csv(')).length;

describe('the loader types the common format first and falls back per row', () => {
  test('a file of accepted rows in every accepted form loads on the fast path, each row typed', async () => {
    await withLake(async (lake, dir) => {
      // A setting of the lake's own, which the loader must leave as it found it.
      await lake.exec('set threads = 3');
      const statements = await load(
        lake,
        dir,
        'plain.csv',
        ACCEPTED.map(([line]) => line),
      );
      expect(split(statements)).toBe(false);
      // Its fields are padded with a TAB and Unicode whitespace: typed again, for those.
      expect(typings(statements)).toBe(2);
      // The loader leaves the lake's own settings as it found them.
      expect(await lake.query("select current_setting('threads')::int as threads")).toEqual([{ threads: 3 }]);
      expect(await loaded(lake, 'plain.csv')).toEqual(
        ACCEPTED.map(([, at, extension, action, details], i) => [i + 2, at, extension, action, details]),
      );
      expect(await lake.query('select count(*)::int as n from rejected_rows')).toEqual([{ n: 0 }]);
    });
  });

  test('a file whose only whitespace is the space is typed once, its fields trimmed', async () => {
    const lines = [
      ' 11/4/2024 8:42:35 AM ,  101 , ONLINE ,  a  note  ',
      '11/4/2024 8:43:00 AM,101 ,OFFLINE, Lunch',
      '"  11/4/2024 8:44:00 AM","101","  LOGOUT","  "',
    ];
    await withLake(async (lake, dir) => {
      const statements = await load(lake, dir, 'spaces.csv', lines);
      expect(split(statements)).toBe(false);
      expect(typings(statements)).toBe(1);
      expect(await loaded(lake, 'spaces.csv')).toEqual([
        [2, '2024-11-04 08:42:35.000', '101', 'ONLINE', 'a  note'],
        [3, '2024-11-04 08:43:00.000', '101', 'OFFLINE', 'Lunch'],
        [4, '2024-11-04 08:44:00.000', '101', 'LOGOUT', ''],
      ]);
    });
  });

  test('the same rows among bad ones: typed alike by the splitter, bad rows kept with line and reason', async () => {
    const latest = latestAcceptedDay(new Date());
    const range = `is outside the accepted range, ${ACCEPTED_DONE_ON.earliest} to ${latest}`;
    const bad: readonly (readonly [string, string])[] = [
      ['11/4/24 8:00:00 AM,201,ONLINE,', 'Done On "11/4/24 8:00:00 AM" is not an accepted timestamp'],
      ['11/4/0024 8:00:00 AM,202,ONLINE,', `Done On "11/4/0024 8:00:00 AM" ${range}`],
      ['12/31/1999 11:59:59 PM,203,ONLINE,', `Done On "12/31/1999 11:59:59 PM" ${range}`],
      ['\u00a0not a date ,204,ONLINE,', 'Done On "not a date" is not an accepted timestamp'],
      ['2024-11-05 10:00:00,\u00a0,ONLINE,', 'Extension is empty'],
      [',205,ONLINE,', 'Done On empty is not an accepted timestamp'],
      ['yesterday,,ONLINE,', 'Done On "yesterday" is not an accepted timestamp; Extension is empty'],
      ['13/45/2024 10:00:00 AM,206,ONLINE,', 'Done On "13/45/2024 10:00:00 AM" is not an accepted timestamp'],
      ['2024-11-05 10:00:00,207,ONLINE,,surplus', 'wrong number of fields: expected 4, got 5'],
      [`${latest} 23:59:59,208,ONLINE,extra,`, 'wrong number of fields: expected 4, got 5'],
    ];
    // Accepted and bad rows alternate: accepted ones on lines 2, 4, ..., bad ones on lines 3, 5, ...
    expect(bad).toHaveLength(ACCEPTED.length);
    const lines = ACCEPTED.flatMap(([line], i) => [line, bad[i]?.[0] ?? '']);
    await withLake(async (lake, dir) => {
      expect(split(await load(lake, dir, 'mixed.csv', lines))).toBe(true);
      const rows = await loaded(lake, 'mixed.csv');
      expect(rows).toEqual(
        ACCEPTED.map(([, at, extension, action, details], i) => [2 * i + 2, at, extension, action, details]),
      );
      const rejects = await lake.query(
        'select source_line, reason, raw_line from rejected_rows order by source_line',
      );
      expect(rejects.map((r) => [Number(r.source_line), r.reason, r.raw_line])).toEqual(
        bad.map(([line, reason], i) => [2 * i + 3, reason, line]),
      );
      const [audit] = await lake.query('select rows_read, rows_loaded, rows_rejected from pipeline_runs');
      expect(audit).toEqual({
        rows_read: String(lines.length),
        rows_loaded: String(ACCEPTED.length),
        rows_rejected: String(bad.length),
      });
    });
  });
});
