import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Lake } from '../../local/lake';
import { RECORD_LIMITS } from '../../workflow/input-contract';
import { ingest, withLake, writeCsv } from '../support/lake';

const ROOT = join(__dirname, '..', '..');

/**
 * Runs the Glue script's own reading and typing functions on a file, as its main() does, with the Glue
 * and Spark modules stubbed (they are not installable here; this code does not use them). The S3
 * client is a stand-in that serves the file for exactly the bucket and key asked, so a key holding
 * glob or separator characters must reach it unchanged.
 */
const PYTHON = `
import json, sys
from datetime import datetime, timezone
from unittest import mock
for name in ["boto3", "botocore", "botocore.exceptions", "awsglue", "awsglue.context", "awsglue.utils", "pyspark", "pyspark.context", "pyspark.sql"]:
    sys.modules[name] = mock.MagicMock()
sys.path.insert(0, sys.argv[1])
import csv_to_parquet as job
contract = json.load(open(sys.argv[2]))
key = sys.argv[4]
class S3:
    def get_object(self, Bucket, Key):
        if (Bucket, Key) != ("bronze", key):
            raise KeyError(Key)
        return {"Body": open(sys.argv[3], "rb")}
source = "bronze/" + key
data = job.read_object(S3(), "bronze", key, source)
header = job.read_header(data, source)
indexes = job.required_indexes(header, contract["requiredColumns"], source)
records = job.split_records(job.physical_lines(data), len(header), contract["records"])
out = {"events": [], "rejects": []}
for kind, row in job.type_records(records, indexes, contract, source, "run", datetime.now(timezone.utc).date()):
    if kind == "event":
        out["events"].append([row[5], row[0].strftime("%Y-%m-%d %H:%M:%S.%f"), row[1], row[2], row[3]])
    else:
        out["rejects"].append([row[1], row[2], row[3]])
print(json.dumps(out))
`;

interface Typed {
  events: unknown[][];
  rejects: unknown[][];
}

function glue(csv: string, key = 'parity.csv'): Typed {
  return JSON.parse(
    execFileSync(
      'python3',
      ['-c', PYTHON, join(ROOT, 'glue-scripts'), join(ROOT, 'workflow', 'input-contract.json'), csv, key],
      { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
    ),
  );
}

async function local(lake: Lake): Promise<Typed> {
  return {
    events: (
      await lake.query(
        `select source_line, strftime(done_on, '%Y-%m-%d %H:%M:%S.%f') as at, extension, action, details
         from agent_events order by source_line`,
      )
    ).map((r) => [Number(r.source_line), r.at, r.extension, r.action, r.details]),
    rejects: (
      await lake.query('select source_line, reason, raw_line from rejected_rows order by source_line')
    ).map((r) => [Number(r.source_line), r.reason, r.raw_line]),
  };
}

const day = (offset: number) => new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10);

describe('the Glue job and the local loader read a file the same way', () => {
  test('same events, same rejected lines, same reasons', async () => {
    await withLake(async (lake, dir) => {
      const csv = writeCsv(dir, 'parity.csv', [
        '10/1/2024 10:00:00 AM,101,ONLINE,',
        '2024-10-01 10:05:00,102, Offline ,Backoffice',
        '2024-10-01T10:06:00.250,103,REMVCEON,',
        '  2024-10-01 10:07:00  ,104,ONLINE,note',
        'yesterday,105,ONLINE,',
        ',106,ONLINE,',
        '2024-10-01 10:08:00,,ONLINE,',
        'tomorrow,,ONLINE,',
        '2024-10-01 10:09:00,107,ONLINE,,surplus',
        '2024-10-01 10:10:00,108',
        '13/45/2024 10:00:00 AM,109,ONLINE,',
        '"2024-10-01 10:11:00","110","OFFLINE","Lunch, long"',
      ]);
      await ingest(lake, csv);
      const mine = await local(lake);
      expect(mine.events).toHaveLength(5);
      expect(mine.rejects.map((r) => r[0])).toEqual([6, 7, 8, 9, 10, 11, 12]);
      expect(glue(csv)).toEqual(mine);
      // line 12 as written in the file
      expect(mine.rejects[6]?.[2]).toBe(readFileSync(csv, 'utf8').split('\n')[11]);
    });
  });

  test('stray quotes, quoted line breaks, blank lines and mixed line ends: physical lines, same split', async () => {
    await withLake(async (lake, dir) => {
      const lines = [
        'Done On,Extension,Action,Details', // 1
        '2024-10-01 10:00:00,201,ONLINE,', // 2
        '2024-10-01 10:01:00,202,"ONLINE,', // 3: a stray quote
        '2024-10-01 10:02:00,203,ONLINE,', // 4
        '2024-10-01 10:03:00,204,OFFLINE,"Lunch', // 5: a quoted CRLF ...
        'long"', // 6 ... ends here
        '', // 7: blank
        '2024-10-01 10:04:00,205,OFFLINE,"a ""quoted"" word"', // 8
        '2024-10-01 10:05:00,206,ONLINE,"x"y', // 9: text after a closing quote
        '2024-10-01 10:06:00,20"7,ONLINE,', // 10: a quote inside an unquoted field
        '   ', // 11: only spaces
        '2024-10-01 10:07:00,208,ONLINE,', // 12
      ];
      const endings = ['\r\n', '\n', '\r\n', '\n', '\r\n', '\r\n', '\n', '\n', '\r\n', '\n', '\n', '\n'];
      const csv = join(dir, 'mixed.csv');
      writeFileSync(csv, lines.map((line, i) => `${line}${endings[i]}`).join(''));
      await ingest(lake, csv);
      const mine = await local(lake);
      expect(mine.events.map((e) => [e[0], e[2], e[4]])).toEqual([
        [2, '201', ''],
        [4, '203', ''],
        [5, '204', 'Lunch\nlong'],
        [8, '205', 'a "quoted" word'],
        [12, '208', ''],
      ]);
      expect(mine.rejects).toEqual([
        [3, 'unterminated quoted field', lines[2]],
        [9, 'text after a closing quote', lines[8]],
        [10, 'a quote inside an unquoted field', lines[9]],
        [11, 'wrong number of fields: expected 4, got 1', lines[10]],
      ]);
      expect(glue(csv)).toEqual(mine);
    });
  });

  test.each([
    ['a space after a closing quote', '2024-10-01 10:00:00,101,"ONLINE" ,'],
    ['a space before an opening quote', '2024-10-01 10:00:00,101, "ONLINE",'],
    ['a quote inside a quoted field', '2024-10-01 10:00:00,101,"ON"LINE",'],
    ['quotes inside an unquoted field', '2024-10-01 10:00:00,101,ONLINE,a""b'],
    ['an empty quoted field', '2024-10-01 10:00:00,101,ONLINE,""'],
    ['doubled quotes in a quoted field', '"2024-10-01 10:00:00",101,ONLINE,"a ""b"""'],
    ['a CR inside a line', '2024-10-01 10:00:00,101,ONLINE,a\rb'],
    ['a Done On past the raw-text limit, quote inside', `"2024-10-01 ""${'é'.repeat(40_000)}",101,ONLINE,`],
  ])('one line with %s: the same on both sides', async (_, line) => {
    await withLake(async (lake, dir) => {
      const csv = writeCsv(dir, 'one.csv', ['2024-10-01 09:00:00,100,ONLINE,', line]);
      await ingest(lake, csv);
      expect(glue(csv)).toEqual(await local(lake));
    });
  });

  test.each([
    ['a doubled quote', '2024-10-01 10:00:00,101,ONLINE,"a""b"', '""', 'a"b'],
    ['text after a closing quote', '2024-10-01 10:00:00,101,ONLINE,"x"y', '"y', undefined],
  ])('%s split across the 1 MiB read boundary: the same on both sides', async (_, line, mark, details) => {
    await withLake(async (lake, dir) => {
      const header = 'Done On,Extension,Action,Details\n';
      const prefix = '2024-10-01 09:00:00,100,ONLINE,';
      // the mark's first quote is the last byte of the first 1 MiB read
      const filler = 2 ** 20 - 1 - line.indexOf(mark) - header.length - prefix.length - 1;
      const csv = join(dir, 'boundary.csv');
      writeFileSync(csv, `${header}${prefix}${'x'.repeat(filler)}\n${line}\n`);
      expect(readFileSync(csv).indexOf(mark)).toBe(2 ** 20 - 1);
      await ingest(lake, csv);
      const mine = await local(lake);
      expect(mine.events.find((event) => event[2] === '101')?.[4]).toBe(details);
      expect(glue(csv)).toEqual(mine);
    });
  });

  test('one unbalanced quote costs its own line, not the rest of the file', async () => {
    await withLake(async (lake, dir) => {
      const rows = Array.from({ length: 100 }, (_, i) =>
        i === 49
          ? `2024-10-02 10:${String(i % 60).padStart(2, '0')}:00,300,"ONLINE,`
          : `2024-10-02 10:${String(i % 60).padStart(2, '0')}:00,${300 + i},ONLINE,`,
      );
      const csv = writeCsv(dir, 'stray.csv', rows);
      await ingest(lake, csv);
      const mine = await local(lake);
      expect(mine.events).toHaveLength(99);
      expect(mine.rejects.map((r) => [r[0], r[1]])).toEqual([[51, 'unterminated quoted field']]);
      expect(glue(csv)).toEqual(mine);
    });
  });

  test.each([
    ['alone', []],
    ['beside a rejected row', ['2024-10-03 10:00:00,\u00a0,ONLINE,']],
  ])('Unicode whitespace is trimmed from every field (%s)', async (_, extra) => {
    await withLake(async (lake, dir) => {
      const csv = writeCsv(dir, 'spaces.csv', [
        '2024-10-03 10:00:00,\t401\t,\u00a0ONLINE\u3000,',
        '\u20032024-10-03 10:00:00\t,402,OFFLINE,\u00a0Backoffice\t',
        ...extra,
      ]);
      await ingest(lake, csv);
      const mine = await local(lake);
      expect(mine.events.map((e) => e.slice(2))).toEqual([
        ['401', 'ONLINE', ''],
        ['402', 'OFFLINE', 'Backoffice'],
      ]);
      expect(mine.rejects.map((r) => r[1])).toEqual(extra.map(() => 'Extension is empty'));
      expect(glue(csv)).toEqual(mine);
    });
  });

  test.each([
    ["alone (the loader's fast path)", []],
    [
      'beside rejected rows (the splitter)',
      ['11/4/24 8:00:00 AM,610,ONLINE,', '\u00a0not a date ,611,ONLINE,'],
    ],
  ])('Done On in the common format, padded, and in every other accepted format, %s', async (_, extra) => {
    await withLake(async (lake, dir) => {
      const csv = writeCsv(dir, 'forms.csv', [
        '11/4/2024 8:42:35 AM,601,ONLINE,',
        ' 11/4/2024 8:43:00 PM\t,602,ONLINE,',
        '\u00a011/4/2024 9:00:00 AM\u3000,603,ONLINE,',
        '2024-11-05 10:00:00,604,ONLINE,',
        '2024-11-05 10:00:00.250,605,ONLINE,',
        '2024-11-05T10:00:00,606,ONLINE,',
        '2024-11-05T10:00:00.5,607,ONLINE,',
        ...extra,
      ]);
      await ingest(lake, csv);
      const mine = await local(lake);
      expect(mine.events.map((e) => [e[0], e[1]])).toEqual([
        [2, '2024-11-04 08:42:35.000000'],
        [3, '2024-11-04 20:43:00.000000'],
        [4, '2024-11-04 09:00:00.000000'],
        [5, '2024-11-05 10:00:00.000000'],
        [6, '2024-11-05 10:00:00.250000'],
        [7, '2024-11-05 10:00:00.000000'],
        [8, '2024-11-05 10:00:00.500000'],
      ]);
      expect(mine.rejects.map((r) => r[0])).toEqual(extra.map((__, i) => 9 + i));
      expect(glue(csv)).toEqual(mine);
    });
  });

  test('Done On: two-digit years are rejected, dates outside the accepted range are rejected', async () => {
    await withLake(async (lake, dir) => {
      const csv = writeCsv(dir, 'dates.csv', [
        '11/4/24 10:00:00 AM,501,ONLINE,', // 2: two-digit year
        '24-11-04 10:00:00,502,ONLINE,', // 3: two-digit year
        '12/31/1999 11:59:59 PM,503,ONLINE,', // 4: before the earliest
        '2000-01-01 00:00:00,504,ONLINE,', // 5: the earliest
        `${day(1)} 23:59:59,505,ONLINE,`, // 6: the run's day + 1
        `${day(2)} 00:00:00,506,ONLINE,`, // 7: past it
        '0024-11-04 10:00:00,507,ONLINE,', // 8: year 24, written in four digits
        '12345-11-04 10:00:00,508,ONLINE,', // 9: five digits
      ]);
      await ingest(lake, csv);
      const mine = await local(lake);
      expect(mine.events.map((e) => e[2])).toEqual(['504', '505']);
      const range = `the accepted range, 2000-01-01 to ${day(1)}`;
      expect(mine.rejects.map((r) => [r[0], r[1]])).toEqual([
        [2, 'Done On "11/4/24 10:00:00 AM" is not an accepted timestamp'],
        [3, 'Done On "24-11-04 10:00:00" is not an accepted timestamp'],
        [4, `Done On "12/31/1999 11:59:59 PM" is outside ${range}`],
        [7, `Done On "${day(2)} 00:00:00" is outside ${range}`],
        [8, `Done On "0024-11-04 10:00:00" is outside ${range}`],
        [9, 'Done On "12345-11-04 10:00:00" is not an accepted timestamp'],
      ]);
      expect(glue(csv)).toEqual(mine);
    });
  });

  test('a record longer than the limit is rejected with a reason and its text cut with a marker', async () => {
    await withLake(async (lake, dir) => {
      const long = `2024-10-04 10:00:00,601,ONLINE,${'é'.repeat(RECORD_LIMITS.maxRecordBytes)}`;
      const csv = writeCsv(dir, 'long.csv', [long, '2024-10-04 10:01:00,602,ONLINE,']);
      await ingest(lake, csv);
      const mine = await local(lake);
      expect(mine.events.map((e) => e[2])).toEqual(['602']);
      const [reject] = mine.rejects;
      expect(reject?.[1]).toBe(`record longer than ${RECORD_LIMITS.maxRecordBytes} bytes`);
      const raw = String(reject?.[2]);
      expect(raw.endsWith(`… [cut: ${Buffer.byteLength(long)} bytes in all]`)).toBe(true);
      expect(long.startsWith(raw.slice(0, raw.indexOf('…')))).toBe(true);
      expect(Buffer.byteLength(raw.slice(0, raw.indexOf('…')))).toBeLessThanOrEqual(
        RECORD_LIMITS.maxRawTextBytes,
      );
      expect(glue(csv)).toEqual(mine);
    });
  });

  test('an object key with spaces, commas and glob characters is read as a name', async () => {
    await withLake(async (lake, dir) => {
      const name = 'day 1, [ab] {x,y} *?.csv';
      const csv = writeCsv(dir, name, ['2024-10-05 10:00:00,701,ONLINE,']);
      const [run] = await ingest(lake, csv);
      expect(run?.status).toBe('SUCCEEDED');
      const mine = await local(lake);
      // A second object that the key, read as a pattern, would match: it changes nothing.
      await ingest(lake, writeCsv(dir, 'day 1, a x 2.csv', ['2024-10-05 10:00:00,799,ONLINE,']));
      const [rerun] = await ingest(lake, csv);
      const again = await lake.query(
        'select extension from agent_events where source_object = ? and run_id = ? order by 1',
        [run?.sourceObject ?? '', rerun?.runId ?? ''],
      );
      expect(again.map((r) => r.extension)).toEqual(['701']);
      expect(mine.events.map((e) => e[2])).toEqual(['701']);
      expect(glue(csv, name)).toEqual(mine);
    });
  });
});
