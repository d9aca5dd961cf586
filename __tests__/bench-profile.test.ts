import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import {
  cteEvaluations,
  dayBounds,
  filesRead,
  keyedRows,
  neighbourDays,
  type ProfileNode,
  type SilverScan,
} from '../bench/profile';
import { removeDir, tempDir } from './support/lake';

/**
 * The pieces the bench's split by day rests on, on filter texts as DuckDB prints them in its JSON
 * profiles (copied in shape from a profiled run: static "Filters" and "Dynamic Filters", ANDed).
 */
describe('dayBounds: the days a scan filter keeps', () => {
  test('timestamp bounds become days; an exclusive midnight ends the day before', () => {
    expect(
      dayBounds(
        "interval_start>='2025-02-28 15:30:00'::TIMESTAMP AND interval_start<'2025-03-05 00:00:00'::TIMESTAMP",
        'interval_start',
      ),
    ).toEqual({ from: '2025-02-28', to: '2025-03-04' });
    expect(dayBounds("interval_start<'2025-03-05 08:30:00'::TIMESTAMP", 'interval_start')).toEqual({
      to: '2025-03-05',
    });
  });

  test('optional and hard bounds intersect: the narrowest wins', () => {
    expect(
      dayBounds(
        "interval_start>='2025-02-24 00:00:00'::TIMESTAMP AND optional: interval_start>='2025-02-26 00:00:00'::TIMESTAMP AND optional: interval_start<='2025-03-10 00:00:00'::TIMESTAMP AND interval_start<'2025-03-08 00:00:00'::TIMESTAMP",
        'interval_start',
      ),
    ).toEqual({ from: '2025-02-26', to: '2025-03-07' });
  });

  test('date bounds: > and < exclude the day named; an IN list keeps its days', () => {
    const bounds = dayBounds(
      "optional: event_date IN ('2025-03-04'::DATE, '2025-03-01'::DATE) AND event_date>'2025-02-28'::DATE AND event_date<'2025-03-06'::DATE",
      'event_date',
    );
    expect(bounds.from).toBe('2025-03-01');
    expect(bounds.to).toBe('2025-03-05');
    expect([...(bounds.only ?? [])].sort()).toEqual(['2025-03-01', '2025-03-04']);
  });

  test("a file filter's BETWEEN bounds both ends, with the other filters", () => {
    expect(
      dayBounds(
        "(event_date BETWEEN '2025-02-25'::DATE AND '2025-03-11'::DATE) AND optional: event_date<='2025-03-06'::DATE",
        'event_date',
      ),
    ).toEqual({ from: '2025-02-25', to: '2025-03-06' });
  });

  test('another column, or an OR naming the column, bounds nothing (the scan then covers every day)', () => {
    expect(dayBounds("extension>='102' AND source_object='x'", 'event_date')).toEqual({});
    expect(
      dayBounds(
        "(event_date='2025-03-04'::DATE OR extension='101') AND event_date>='2025-03-01'::DATE",
        'event_date',
      ),
    ).toEqual({});
  });
});

describe('filesRead: the silver files a scan read, checked against the profile', () => {
  const dir = '/lake/silver/agent_events';
  const files = ['2025-03-02', '2025-03-03', '2025-03-04'].flatMap((day) => [
    `${dir}/event_date=${day}/a_0.parquet`,
    `${dir}/event_date=${day}/b_0.parquet`,
  ]);
  const scan = (over: Partial<SilverScan>): SilverScan => ({
    times: 1,
    files: 0,
    names: [],
    truncated: false,
    rowsScanned: 1,
    filters: '',
    text: '',
    ...over,
  });

  test('a glob pruned by its event_date filter: the files of the days kept', () => {
    const read = filesRead(
      scan({
        files: 4,
        names: [`${dir}/**/*.parquet`],
        truncated: true,
        filters: "event_date>='2025-03-03'::DATE",
      }),
      files,
    );
    expect(read).toEqual(files.slice(2));
  });

  test('a glob of one stem: only its files', () => {
    expect(filesRead(scan({ files: 3, names: [`${dir}/**/a_*.parquet`] }), files)).toEqual(
      files.filter((f) => f.endsWith('/a_0.parquet')),
    );
  });

  test('a list cut short by the profile: the rest come from the same table and the filters', () => {
    const read = filesRead(
      scan({
        files: 4,
        names: files.slice(0, 2),
        truncated: true,
        filters: "optional: event_date IN ('2025-03-02'::DATE, '2025-03-04'::DATE)",
      }),
      files,
    );
    expect(read).toEqual([files[0], files[1], files[4], files[5]]);
  });

  test('a count that does not match, or a named file outside the set, is not taken as exact', () => {
    expect(
      filesRead(
        scan({ files: 3, names: [`${dir}/**/*.parquet`], filters: "event_date>='2025-03-03'::DATE" }),
        files,
      ),
    ).toBeUndefined();
    expect(
      filesRead(
        scan({
          files: 2,
          names: [files[0] as string, `${dir}/**/*.parquet`],
          filters: "event_date='2025-03-04'::DATE",
        }),
        files,
      ),
    ).toBeUndefined();
  });
});

describe('keyedRows: the rows of the partitions a scan of pipeline_runs (by `published`) reads', () => {
  // 3 runs published, 2 not (this run, running, and a failed one), as a statement found the table
  const scan = (filters: string, emitted: number) => ({
    table: 'pipeline_runs',
    times: 1,
    filters,
    emitted,
    valueRows: new Map([
      ['true', 3],
      ['false', 2],
    ]),
  });

  test('a filter on the column keeps its partition alone', () => {
    expect(keyedRows(scan('published=false', 1), 'published')).toEqual({ rows: 2, verified: true });
    expect(keyedRows(scan("published=true AND run_id!='r3'", 2), 'published')).toEqual({
      rows: 3,
      verified: true,
    });
  });

  test('no filter on the column (a MERGE target, a join on run_id) reads every partition', () => {
    expect(keyedRows(scan('', 5), 'published')).toEqual({ rows: 5, verified: true });
    expect(keyedRows(scan("status='RUNNING'", 1), 'published')).toEqual({ rows: 5, verified: true });
  });

  test('a scan that emitted more rows than its partitions hold is unverified', () => {
    expect(keyedRows(scan('published=false', 3), 'published').verified).toBe(false);
  });
});

test('neighbourDays: distinct days other than the own ones, in order', () => {
  expect(
    neighbourDays(['2025-03-04', '2025-03-01', '2025-03-03', '2025-03-01'], new Set(['2025-03-04'])),
  ).toEqual(['2025-03-01', '2025-03-03']);
});

describe('cteEvaluations: how many times Athena, which inlines every WITH query, runs each CTE', () => {
  const cte = (name: string, index: string, definition: ProfileNode, rest: ProfileNode): ProfileNode => ({
    operator_name: 'CTE',
    extra_info: { 'CTE Name': name, 'Table Index': index },
    children: [definition, rest],
  });
  const ref = (index: string): ProfileNode => ({
    operator_name: 'CTE_SCAN',
    extra_info: { 'CTE Index': index },
  });
  const hashJoin = (...children: ProfileNode[]): ProfileNode => ({ operator_name: 'HASH_JOIN', children });

  test('a reference from inside another CTE counts as often as that CTE runs', () => {
    // with a as (...), b as (a join a) select ... from b join b join a
    const plan = cte(
      'a',
      '1',
      { operator_name: 'TABLE_SCAN' },
      cte('b', '2', hashJoin(ref('1'), ref('1')), hashJoin(ref('2'), ref('2'), ref('1'))),
    );
    const evaluations = cteEvaluations(plan);
    expect(evaluations.get('')).toBe(1);
    expect(evaluations.get('2')).toBe(2);
    // twice for each run of b, once from the statement
    expect(evaluations.get('1')).toBe(5);
  });

  test("on DuckDB's own profile of a statement whose CTEs are referenced twice each", async () => {
    const dir = tempDir('agent-etl-cte-');
    try {
      const db = await DuckDBInstance.create(':memory:');
      const connection = await db.connect();
      const output = join(dir, 'profile.json');
      await connection.run('create table t as select range as n from range(10)');
      await connection.run(`pragma enable_profiling = 'json'`);
      await connection.run(`pragma profiling_output = '${output}'`);
      await connection.run(`
        with a as (select n, count(*) over () as c from t),
        b as (select x.n from a as x inner join a as y on x.n = y.c - 10 + y.n)
        select count(*) from b as p inner join b as q on p.n = q.n`);
      connection.closeSync();
      const profile = JSON.parse(readFileSync(output, 'utf8')) as ProfileNode;
      const indexOf = new Map<string, string>();
      const visit = (node: ProfileNode) => {
        if (node.operator_name === 'CTE')
          indexOf.set(String(node.extra_info?.['CTE Name']), String(node.extra_info?.['Table Index']));
        for (const child of node.children ?? []) visit(child);
      };
      visit(profile);
      const evaluations = cteEvaluations(profile);
      // b runs twice from the statement; a twice for each run of b
      expect(evaluations.get(indexOf.get('b') ?? 'none')).toBe(2);
      expect(evaluations.get(indexOf.get('a') ?? 'none')).toBe(4);
    } finally {
      removeDir(dir);
    }
  });
});
