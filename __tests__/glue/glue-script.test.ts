import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GLUE_JOB_ARGUMENTS } from '../../workflow/definition';
import { AGENT_EVENTS, EVENT_EXTENTS, LOADED_DAYS, REJECTED_ROWS } from '../../workflow/tables';
import { ROOT, resourceNamed, synthPipeline } from '../stacks/synth';

const SCRIPT = join(ROOT, 'glue-scripts', 'csv_to_parquet.py');

/** Top-level list and string constants of the script, read with Python's own parser (the script imports Glue, so it cannot be imported here). */
function scriptConstants(): Record<string, string[]> & { PARTITION_COLUMN?: string } {
  const program = [
    'import ast, json, sys',
    'tree = ast.parse(open(sys.argv[1]).read())',
    'print(json.dumps({t.id: ast.literal_eval(n.value) for n in tree.body if isinstance(n, ast.Assign)',
    '  for t in n.targets if isinstance(t, ast.Name) and isinstance(n.value, (ast.List, ast.Constant))}))',
  ].join('\n');
  return JSON.parse(execFileSync('python3', ['-c', program, SCRIPT], { encoding: 'utf8' }));
}

const lists = scriptConstants();
const job = resourceNamed(synthPipeline(), 'aws_glue_job', 'loadJob')[1];
/** Arguments Glue itself reads (they start with `--enable-`, `--job-`, `--continuous-`, `--custom-`). */
const isGlueSetting = (name: string) => /^--(enable-|job-|continuous-|custom-)/.test(name);

describe('glue-scripts/csv_to_parquet.py', () => {
  test('compiles', () => {
    const cache = mkdtempSync(join(tmpdir(), 'pyc-'));
    expect(() =>
      execFileSync('python3', ['-m', 'py_compile', SCRIPT], {
        env: { ...process.env, PYTHONPYCACHEPREFIX: cache },
      }),
    ).not.toThrow();
  });

  test('reads exactly the arguments the state machine passes', () => {
    expect(lists.RUN_ARGUMENTS?.map((name) => `--${name}`)).toEqual([...GLUE_JOB_ARGUMENTS]);
  });

  test('reads exactly the settings the stack puts in default_arguments, and nothing is left unread', () => {
    const settings = Object.keys(job.default_arguments as Record<string, string>).filter(
      (name) => !isGlueSetting(name),
    );
    expect(lists.JOB_SETTINGS?.map((name) => `--${name}`).sort()).toEqual(settings.sort());
  });

  test('writes the columns of workflow/tables.ts, in order', () => {
    expect(lists.EVENT_COLUMNS).toEqual(AGENT_EVENTS.columns.map((column) => column.name));
    expect(lists.REJECT_COLUMNS).toEqual(REJECTED_ROWS.columns.map((column) => column.name));
    expect(lists.PARTITION_COLUMN).toBe(AGENT_EVENTS.partitionKeys[0]?.name);
    expect(lists.EXTENT_COLUMNS).toEqual(EVENT_EXTENTS.columns.map((column) => column.name));
    expect(lists.PARTITION_COLUMN).toBe(EVENT_EXTENTS.partitionKeys[0]?.name);
    expect(lists.DAY_COLUMNS).toEqual(LOADED_DAYS.columns.map((column) => column.name));
  });
});

/**
 * The job's S3 calls against a stand-in S3 that answers a GetObject of a missing key with 403
 * AccessDenied, as S3 does when the caller lacks s3:ListBucket for it (GetObject, "Permissions":
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html). The Glue role's s3:ListBucket
 * carries an s3:prefix condition, which a GetObject request never satisfies.
 */
const S3_PYTHON = `
import json, sys
from unittest import mock
class ClientError(Exception):
    def __init__(self, code):
        super().__init__(code)
        self.response = {"Error": {"Code": code}}
exceptions = mock.MagicMock(ClientError=ClientError)
for name in ["boto3", "botocore", "awsglue", "awsglue.context", "awsglue.utils", "pyspark", "pyspark.context", "pyspark.sql"]:
    sys.modules[name] = mock.MagicMock()
sys.modules["botocore.exceptions"] = exceptions
sys.path.insert(0, sys.argv[1])
import csv_to_parquet as job

class S3:
    def __init__(self):
        self.objects = {}
    def get_object(self, Bucket, Key):
        if (Bucket, Key) not in self.objects:
            raise ClientError("AccessDenied")
        return {"Body": mock.MagicMock(read=lambda: self.objects[(Bucket, Key)])}
    def put_object(self, Bucket, Key, Body):
        self.objects[(Bucket, Key)] = Body
    def copy(self, source, bucket, key):
        self.objects[(bucket, key)] = self.objects[(source["Bucket"], source["Key"])]
    def delete_objects(self, Bucket, Delete):
        for item in Delete["Objects"]:
            self.objects.pop((Bucket, item["Key"]), None)
    def get_paginator(self, name):
        objects = self.objects
        class Pages:
            def paginate(self, Bucket, Prefix):
                return [{"Contents": [{"Key": k} for (b, k) in sorted(objects) if b == Bucket and k.startswith(Prefix)]}]
        return Pages()

s3 = S3()
out = {}
try:
    job.read_object(s3, "bronze", "gone.csv", "bronze/gone.csv")
except job.RefusedFile as error:
    out["missing"] = str(error)
for run, days in [("r1", ["2024-11-04", "2024-11-05"]), ("r2", ["2024-11-05"])]:
    for day in days:
        s3.put_object(Bucket="silver", Key=f"_staging/{run}/agent_events/event_date={day}/part-0.parquet", Body=b"x")
    job.publish(s3, "silver", f"_staging/{run}", "bronze/day 1, [a].csv", "abc", run)
    out[run] = sorted(k for (b, k) in s3.objects if b == "silver")
print(json.dumps(out))
`;

describe('the Glue job on S3', () => {
  test('never takes an error for "missing": a first publish lists the manifest rather than reading it', () => {
    const out = JSON.parse(
      execFileSync('python3', ['-c', S3_PYTHON, join(ROOT, 'glue-scripts')], { encoding: 'utf8' }),
    );
    expect(out.missing).toBe(
      'bronze/gone.csv: cannot read the object (AccessDenied: missing, or not readable by the job)',
    );
    const tag = (run: string) => createHash('sha256').update(run).digest('hex').slice(0, 8);
    expect(out.r1).toEqual([
      '_manifests/abc.json',
      `agent_events/event_date=2024-11-04/abc-${tag('r1')}-1.parquet`,
      `agent_events/event_date=2024-11-05/abc-${tag('r1')}-1.parquet`,
    ]);
    // a second load of the same object adds its own files and keeps the first run's, which stand
    // until the second run succeeds (pipeline_runs decides which rows count)
    expect(out.r2).toEqual(
      [...out.r1, `agent_events/event_date=2024-11-05/abc-${tag('r2')}-1.parquet`].sort(),
    );
  });
});
