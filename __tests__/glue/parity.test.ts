import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ingest, withLake, writeCsv } from '../support/lake';

const ROOT = join(__dirname, '..', '..');

/**
 * Runs the Glue script's own typing function on a file, with the Glue and Spark modules stubbed
 * (they are not installable here; the typing code does not use them).
 */
const PYTHON = `
import json, sys
from unittest import mock
for name in ["boto3", "awsglue", "awsglue.context", "awsglue.utils", "pyspark", "pyspark.context", "pyspark.sql"]:
    sys.modules[name] = mock.MagicMock()
sys.path.insert(0, sys.argv[1])
import csv_to_parquet as job
contract = json.load(open(sys.argv[2]))
lines = open(sys.argv[3], encoding="utf-8-sig").read().split("\\n")
header = next(job.csv.reader([lines[0]]))
indexes = job.required_indexes(header, contract["requiredColumns"], "bronze/parity.csv")
out = {"events": [], "rejects": []}
for kind, row in job.type_rows([(text, i) for i, text in enumerate(lines) if text], indexes, len(header), contract["timestampFormats"], "bronze/parity.csv", "run"):
    if kind == "event":
        out["events"].append([row[5], row[0].strftime("%Y-%m-%d %H:%M:%S.%f"), row[1], row[2], row[3]])
    else:
        out["rejects"].append([row[1], row[2], row[3]])
print(json.dumps(out))
`;

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
      const local = {
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
      const glue = JSON.parse(
        execFileSync(
          'python3',
          ['-c', PYTHON, join(ROOT, 'glue-scripts'), join(ROOT, 'workflow', 'input-contract.json'), csv],
          { encoding: 'utf8' },
        ),
      );
      expect(local.events).toHaveLength(5);
      expect(local.rejects.map((r) => r[0])).toEqual([6, 7, 8, 9, 10, 11, 12]);
      expect(glue).toEqual(local);
      // line 12 as written in the file
      expect(local.rejects[6]?.[2]).toBe(readFileSync(csv, 'utf8').split('\n')[11]);
    });
  });
});
