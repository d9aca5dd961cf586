import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { objectKeyFor } from '../local/runner';
import { matchHeader } from '../workflow/input-contract';
import { resourcesOf, synthPipeline } from './stacks/synth';
import { dataExports, ingest, intervalRows, withLake, writeCsv } from './support/lake';

describe('header matching', () => {
  test('ignores case, spaces and underscores, in any order, beside other columns', () => {
    const result = matchHeader(['Queue', 'EXTENSION', ' details', 'done_on', 'Action ', 'Agent Name']);
    expect(result).toEqual({ ok: true, indexes: { done_on: 3, extension: 1, action: 4, details: 2 } });
  });

  test('names every missing column', () => {
    expect(matchHeader(['Done On', 'Ext', 'Action'])).toEqual({
      ok: false,
      missing: ['Extension', 'Details'],
    });
  });
});

describe('loading bronze CSV', () => {
  test('every accepted timestamp form, a BOM, and columns in another order load to the same instants', async () => {
    await withLake(async (lake, dir) => {
      const csv = join(dir, 'forms.csv');
      writeFileSync(
        csv,
        [
          '\ufeffaction,Details,EXTENSION,Queue,done_on',
          'ONLINE,,1001,sales,10/1/2024 10:00:00 AM',
          'ONLINE,,1002,sales,2024-10-01 10:00:00',
          'ONLINE,,1003,sales,2024-10-01T10:00:00',
          'ONLINE,,1004,sales,2024-10-01 10:00:00.250',
          'ONLINE,,1005,sales,2024-10-01T10:00:00.5',
          'ONLINE,,1006,sales,10/01/2024 01:30:00 PM',
        ].join('\r\n'),
      );
      const [run] = await ingest(lake, csv);
      expect(run?.status).toBe('SUCCEEDED');
      const rows = await lake.query(
        `select extension, strftime(done_on, '%Y-%m-%d %H:%M:%S.%g') as at, source_line
         from agent_events order by extension`,
      );
      expect(rows).toEqual([
        { extension: '1001', at: '2024-10-01 10:00:00.000', source_line: '2' },
        { extension: '1002', at: '2024-10-01 10:00:00.000', source_line: '3' },
        { extension: '1003', at: '2024-10-01 10:00:00.000', source_line: '4' },
        { extension: '1004', at: '2024-10-01 10:00:00.250', source_line: '5' },
        { extension: '1005', at: '2024-10-01 10:00:00.500', source_line: '6' },
        { extension: '1006', at: '2024-10-01 13:30:00.000', source_line: '7' },
      ]);
      // 1004 is online from 10:00:00.250 to the end of its interval: 29 min 59.75 s
      expect((await intervalRows(lake))['1004|2024-10-01 10:00:00']?.[0]).toBeCloseTo(1799.75 / 3600, 12);
    });
  });

  test('bad rows are kept with line and reason; the good rows load', async () => {
    await withLake(async (lake, dir) => {
      const csv = writeCsv(dir, 'mixed.csv', [
        '2024-11-05 10:00:00,801,ONLINE,', // line 2
        'not a date,801,ONLINE,', // line 3
        '2024-11-05 10:10:00,,ONLINE,', // line 4
        '2024-11-05 10:20:00,801,OFFLINE,Break,extra', // line 5
        '2024-11-05 10:30:00,801', // line 6
        '2024-11-05 10:40:00,801,LOGOUT,', // line 7
      ]);
      const [run] = await ingest(lake, csv);
      expect(run?.status).toBe('SUCCEEDED');
      const rejects = await lake.query(
        'select source_line, reason, raw_line from rejected_rows order by source_line',
      );
      expect(rejects.map((r) => Number(r.source_line))).toEqual([3, 4, 5, 6]);
      expect(rejects[0]?.reason).toMatch(/^Done On "not a date" is not an accepted timestamp$/);
      expect(rejects[1]?.reason).toBe('Extension is empty');
      expect(rejects[2]?.reason).toBe('wrong number of fields: expected 4, got 5');
      expect(rejects[3]?.reason).toBe('wrong number of fields: expected 4, got 2');
      expect(rejects.map((r) => r.raw_line)).toEqual([
        'not a date,801,ONLINE,',
        '2024-11-05 10:10:00,,ONLINE,',
        '2024-11-05 10:20:00,801,OFFLINE,Break,extra',
        '2024-11-05 10:30:00,801',
      ]);
      const loaded = await lake.query('select source_line from agent_events order by source_line');
      expect(loaded.map((r) => Number(r.source_line))).toEqual([2, 7]);
      const [audit] = await lake.query('select rows_read, rows_loaded, rows_rejected from pipeline_runs');
      expect(audit).toEqual({ rows_read: '6', rows_loaded: '2', rows_rejected: '4' });
      expect(await intervalRows(lake)).toEqual({
        '801|2024-11-05 10:00:00': [0.5, 1],
        '801|2024-11-05 10:30:00': [10 / 60, 1],
      });
    });
  });

  describe.each([
    ['random bytes', (path: string) => writeFileSync(path, randomBytes(4096)), /not a text file/],
    [
      'a CSV without the required columns',
      (path: string) => writeFileSync(path, 'Time,Ext,Action\n2024-11-05 10:00:00,801,ONLINE\n'),
      /missing required columns Done On, Extension, Details/,
    ],
    ['an empty file', (path: string) => writeFileSync(path, ''), /the file is empty/],
    [
      'a file with no valid row',
      (path: string) => writeFileSync(path, 'Done On,Extension,Action,Details\nyesterday,801,ONLINE,\n'),
      /no valid row \(1 rejected; line 2: Done On "yesterday"/,
    ],
  ])('a refused file: %s', (_, write, reason) => {
    test('fails the run with a reason naming the file, leaves the data as it was, and is audited', async () => {
      await withLake(async (lake, dir) => {
        await ingest(
          lake,
          writeCsv(dir, 'good.csv', ['2024-11-05 10:00:00,801,ONLINE,', '2024-11-05 10:40:00,801,LOGOUT,']),
        );
        const before = await dataExports(lake);
        const bad = join(dir, "bad 'file'.csv");
        write(bad);
        const [run] = await ingest(lake, bad);
        expect(run?.status).toBe('FAILED');
        const sourceObject = `bronze/${objectKeyFor(bad)}`;
        expect(run?.error?.startsWith(`${sourceObject}: `)).toBe(true);
        expect(run?.error).toMatch(reason);
        expect(run?.error?.includes('\n')).toBe(false);
        expect(await dataExports(lake)).toEqual(before);
        const failed = await lake.query(
          "select source_object, error from pipeline_runs where status = 'FAILED'",
        );
        expect(failed).toHaveLength(1);
        expect(failed[0]?.source_object).toBe(sourceObject);
        expect(failed[0]?.error).toMatch(reason);
      });
    });
  });
});

describe('lineage', () => {
  test('every loaded and rejected row names the line it came from', async () => {
    await withLake(async (lake, dir) => {
      const lines = ['Done On,Extension,Action,Details'];
      for (let i = 0; i < 3000; i++) {
        if (i % 97 === 5) lines.push(`2024-11-05 10:00:00,${i},ONLINE,,surplus field`);
        else if (i % 89 === 7) lines.push(`2024-13-45 10:00:00,${i},ONLINE,`);
        else
          lines.push(`2024-11-05 ${String(8 + (i % 10)).padStart(2, '0')}:00:00,${i},ACTION${i},detail ${i}`);
      }
      const csv = join(dir, 'lineage.csv');
      writeFileSync(csv, `${lines.join('\n')}\n`);
      await ingest(lake, csv);
      const loaded = await lake.query('select source_line, extension, action, details from agent_events');
      const rejected = await lake.query('select source_line, raw_line from rejected_rows');
      expect(loaded.length + rejected.length).toBe(3000);
      expect(rejected.length).toBe(31 + 34);
      for (const row of loaded) {
        const [, extension, action, details] = (lines[Number(row.source_line) - 1] ?? '').split(',');
        expect([row.extension, row.action, row.details]).toEqual([extension, action, details]);
      }
      for (const row of rejected) expect(row.raw_line).toBe(lines[Number(row.source_line) - 1]);
    });
  });
});

describe('lineage in files that do not hold one record per line', () => {
  test('quoted line breaks and blank lines keep every line number exact', async () => {
    await withLake(async (lake, dir) => {
      const csv = join(dir, 'multiline.csv');
      writeFileSync(
        csv,
        [
          'Done On,Extension,Action,Details', // 1
          '2024-11-05 10:00:00,801,ONLINE,', // 2
          '', // 3: blank
          '2024-11-05 10:05:00,802,OFFLINE,"Coaching', // 4: a record over two lines
          'with the team lead"', // 5
          '2024-11-05 10:10:00,803,ONLINE,,surplus', // 6: wrong number of fields
          '', // 7: blank
          '', // 8: blank
          'not a date,804,ONLINE,', // 9
          '2024-11-05 10:20:00,805,"REMV', // 10: a record over three lines
          '',
          'CEON",', // 12
          '2024-11-05 10:30:00,806,LOGOUT,', // 13
          '',
        ].join('\n'),
      );
      const [run] = await ingest(lake, csv);
      expect(run?.status).toBe('SUCCEEDED');
      const loaded = await lake.query('select extension, source_line from agent_events order by extension');
      expect(loaded.map((r) => [r.extension, Number(r.source_line)])).toEqual([
        ['801', 2],
        ['802', 4],
        ['805', 10],
        ['806', 13],
      ]);
      const rejects = await lake.query('select source_line, reason from rejected_rows order by source_line');
      expect(rejects.map((r) => [Number(r.source_line), r.reason])).toEqual([
        [6, 'wrong number of fields: expected 4, got 5'],
        [9, 'Done On "not a date" is not an accepted timestamp'],
      ]);
    });
  });
});

describe('accepted Done On range', () => {
  test('the silver partition projection covers exactly the days the loader accepts', async () => {
    const events = Object.values(resourcesOf(synthPipeline(), 'aws_glue_catalog_table')).find(
      (table) => table.name === 'agent_events',
    );
    const parameters = (events?.parameters ?? {}) as Record<string, string>;
    const range = String(parameters['projection.event_date.range']);
    const match = /^(\d{4}-\d{2}-\d{2}),NOW\+(\d+)DAYS$/.exec(range);
    expect(match).not.toBeNull();
    const first = new Date(`${match?.[1]}T00:00:00Z`);
    const last = new Date(Date.now() + Number(match?.[2]) * 86_400_000);
    const at = (date: Date, offsetDays: number) =>
      new Date(date.getTime() + offsetDays * 86_400_000).toISOString().slice(0, 10);
    await withLake(async (lake, dir) => {
      await ingest(
        lake,
        writeCsv(dir, 'edges.csv', [
          `${at(first, -1)} 23:59:59,1,ONLINE,`,
          `${at(first, 0)} 00:00:00,2,ONLINE,`,
          `${at(last, 0)} 23:59:59,3,ONLINE,`,
          `${at(last, 1)} 00:00:00,4,ONLINE,`,
        ]),
      );
      const loaded = await lake.query('select extension from agent_events order by extension');
      expect(loaded.map((row) => row.extension)).toEqual(['2', '3']);
      const rejected = await lake.query('select source_line, reason from rejected_rows order by source_line');
      expect(rejected.map((row) => Number(row.source_line))).toEqual([2, 5]);
      for (const row of rejected) expect(row.reason).toMatch(/is outside the accepted range/);
    });
  });
});
