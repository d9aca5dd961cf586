import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  AthenaClient,
  GetQueryExecutionCommand,
  GetQueryResultsCommand,
  StartQueryExecutionCommand,
} from '@aws-sdk/client-athena';
import { HeadObjectCommand, ListObjectsV2Command, NotFound, S3Client } from '@aws-sdk/client-s3';
import { ListExecutionsCommand, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { AwsTarget, environmentConfig, readStackOutputs, type StackOutputs } from '../../cli/ops/aws-target';
import { backfillCommand, rerunCommand, statusCommand } from '../../cli/ops/commands';
import { readSql } from '../../workflow/steps';
import { captureIo } from '../support/cli';
import { removeDir, tempDir } from '../support/lake';

const athena = mockClient(AthenaClient);
const s3 = mockClient(S3Client);
const sfn = mockClient(SFNClient);
const sqs = mockClient(SQSClient);

const OUTPUTS: StackOutputs = {
  bronze_bucket: 'agent-etl-dev-bronze-123456789012-eu-west-1',
  state_machine_arn: 'arn:aws:states:eu-west-1:123456789012:stateMachine:agent-etl-dev-pipeline',
  athena_workgroup: 'agent-etl-dev',
  glue_database: 'agent_etl_dev',
  pending_queue_url: 'https://sqs.eu-west-1.amazonaws.com/123456789012/agent-etl-dev-pending',
  drain_state_machine_arn: 'arn:aws:states:eu-west-1:123456789012:stateMachine:agent-etl-dev-drain',
};
const BUCKET = OUTPUTS.bronze_bucket;
const DRAIN_ARN = 'arn:aws:states:eu-west-1:123456789012:execution:agent-etl-dev-drain:d-1';

const target = () =>
  new AwsTarget(OUTPUTS, environmentConfig('dev'), { environment: 'dev', outputsFile: 'unused' });

type Cell = string | null;
/** Answers one ops statement (matched by its exact text) with rows, as Athena pages them. */
function answer(file: string, id: string, columns: [string, string][], rows: Cell[][]): void {
  athena.on(StartQueryExecutionCommand, { QueryString: readSql(file) }).resolves({ QueryExecutionId: id });
  athena.on(GetQueryResultsCommand, { QueryExecutionId: id }).resolves({
    ResultSet: {
      ResultSetMetadata: { ColumnInfo: columns.map(([Name, Type]) => ({ Name, Type })) },
      Rows: [columns.map(([name]) => name), ...rows].map((row) => ({
        Data: row.map((value) => (value === null ? {} : { VarCharValue: value })),
      })),
    },
  });
}

const LATEST_COLUMNS: [string, string][] = [
  ['source_object', 'varchar'],
  ['latest_run_id', 'varchar'],
  ['latest_status', 'varchar'],
  ['latest_started_at', 'varchar'],
  ['latest_error', 'varchar'],
  ['succeeded_etag', 'varchar'],
];

/** What every statement was sent with: text, parameters, workgroup and database. */
const athenaRequests = () =>
  athena.commandCalls(StartQueryExecutionCommand).map((call) => ({
    file: call.args[0].input.QueryString,
    parameters: call.args[0].input.ExecutionParameters,
    workGroup: call.args[0].input.WorkGroup,
    database: call.args[0].input.QueryExecutionContext?.Database,
  }));

beforeEach(() => {
  athena.reset();
  s3.reset();
  sfn.reset();
  sqs.reset();
  athena.on(GetQueryExecutionCommand).resolves({ QueryExecution: { Status: { State: 'SUCCEEDED' } } });
  sfn.on(StartExecutionCommand).resolves({ executionArn: DRAIN_ARN });
});

describe('the stack outputs, the one source of resource names', () => {
  let dir: string;
  beforeEach(() => {
    dir = tempDir('agent-etl-outputs-');
  });
  afterEach(() => removeDir(dir));

  test('are read per stack from the file `cdktf output --outputs-file` writes', () => {
    const file = join(dir, 'outputs.json');
    writeFileSync(file, JSON.stringify({ dev: { ...OUTPUTS, kms_key_arn: 'arn:...' }, prod: {} }));
    expect(readStackOutputs(file, 'dev')).toEqual(OUTPUTS);
    expect(() => readStackOutputs(file, 'prod')).toThrow(
      `${file}: stack 'prod' lacks the outputs bronze_bucket, state_machine_arn, athena_workgroup, glue_database, pending_queue_url, drain_state_machine_arn; deploy the current stacks first`,
    );
    expect(() => readStackOutputs(file, 'qa')).toThrow(`${file}: no outputs for stack 'qa'`);
    expect(() => readStackOutputs(join(dir, 'none.json'), 'dev')).toThrow(
      /none.json: cannot read the stack outputs .*; write them with `npx cdktf output dev --outputs-file .*none.json`/,
    );
    expect(() => environmentConfig('qa')).toThrow("no environment 'qa' in stacks/config.ts (dev, prod)");
  });
});

describe('agent-etl status --aws', () => {
  test('reads pipeline_runs and coverage through Athena and pages executions back to the window', async () => {
    answer(
      'ops/recent_runs.sql',
      'recent',
      [
        ['run_id', 'varchar'],
        ['source_object', 'varchar'],
        ['source_etag', 'varchar'],
        ['status', 'varchar'],
        ['started_at', 'varchar'],
        ['finished_at', 'varchar'],
        ['rows_read', 'bigint'],
        ['rows_loaded', 'bigint'],
        ['rows_rejected', 'bigint'],
        ['error', 'varchar'],
      ],
      [
        [
          'r4',
          `${BUCKET}/d.csv`,
          'e4',
          'FAILED',
          '2024-11-08 05:30:00.000',
          '2024-11-08 05:31:00.000',
          null,
          null,
          null,
          'd.csv: the file is empty',
        ],
        ['r3', `${BUCKET}/c.csv`, 'e3', 'RUNNING', '2024-11-08 05:00:00.000', null, null, null, null, null],
        ['r2', `${BUCKET}/b.csv`, 'e2', 'RUNNING', '2024-11-08 04:00:00.000', null, null, null, null, null],
        [
          'r1',
          `${BUCKET}/a.csv`,
          'e1',
          'SUCCEEDED',
          '2024-11-07 10:00:00.000',
          '2024-11-07 10:02:00.000',
          '100',
          '98',
          '2',
          null,
        ],
      ],
    );
    answer('ops/latest_runs.sql', 'latest', LATEST_COLUMNS, [
      [`${BUCKET}/a.csv`, 'r1', 'SUCCEEDED', '2024-11-07 10:00:00.000', null, 'e1'],
      [`${BUCKET}/b.csv`, 'r2', 'RUNNING', '2024-11-08 04:00:00.000', null, null],
      [`${BUCKET}/c.csv`, 'r3', 'RUNNING', '2024-11-08 05:00:00.000', null, null],
      [`${BUCKET}/d.csv`, 'r4', 'FAILED', '2024-11-08 05:30:00.000', 'd.csv: the file is empty', null],
    ]);
    const fullDay = Array.from({ length: 48 }, (_, i) => [
      `2024-11-06 ${String(Math.floor(i / 2)).padStart(2, '0')}:${i % 2 ? '30' : '00'}:00.000`,
    ]);
    answer('coverage/present_intervals.sql', 'present', [['interval_start', 'varchar']], fullDay);
    sfn.on(ListExecutionsCommand, { statusFilter: 'RUNNING' }).resolves({
      executions: [
        {
          executionArn: 'x:r2',
          stateMachineArn: OUTPUTS.state_machine_arn,
          name: 'r2',
          status: 'RUNNING',
          startDate: new Date('2024-11-08T04:00:00Z'),
        },
      ],
    });
    const listed = (name: string, status: 'RUNNING' | 'ABORTED' | 'FAILED' | 'SUCCEEDED', at: string) => ({
      executionArn: `x:${name}`,
      stateMachineArn: OUTPUTS.state_machine_arn,
      name,
      status,
      startDate: new Date(at),
    });
    sfn
      .on(ListExecutionsCommand, { nextToken: undefined, statusFilter: undefined })
      .resolves({
        executions: [
          listed('r4', 'FAILED', '2024-11-08T05:30:00Z'),
          listed('lost-1', 'FAILED', '2024-11-08T05:20:00Z'),
          listed('r3', 'ABORTED', '2024-11-08T05:00:00Z'),
        ],
        nextToken: 'page-2',
      })
      .on(ListExecutionsCommand, { nextToken: 'page-2' })
      .resolves({
        executions: [
          listed('r2', 'RUNNING', '2024-11-08T04:00:00Z'),
          listed('old', 'FAILED', '2024-11-01T00:00:00Z'),
        ],
        nextToken: 'page-3',
      });

    const io = captureIo();
    const code = await statusCommand(
      target(),
      { days: 2, json: true, now: new Date('2024-11-08T06:00:00Z') },
      io,
    );

    expect(code).toBe(3);
    const workGroup = 'agent-etl-dev';
    const database = 'agent_etl_dev';
    expect(athenaRequests()).toEqual([
      { file: readSql('ops/recent_runs.sql'), parameters: ["'2024-11-06 06:00:00'"], workGroup, database },
      { file: readSql('ops/latest_runs.sql'), parameters: ["''"], workGroup, database },
      // Yesterday on New York's clocks at 01:00 on Nov 8 is Nov 7: the two days are Nov 6 and Nov 7.
      {
        file: readSql('coverage/present_intervals.sql'),
        parameters: ["'2024-11-06 00:00:00'", "'2024-11-08 00:00:00'"],
        workGroup,
        database,
      },
    ]);
    const pages = sfn.commandCalls(ListExecutionsCommand).map((call) => call.args[0].input);
    expect(pages).toEqual([
      { stateMachineArn: OUTPUTS.state_machine_arn, maxResults: 1000, nextToken: undefined },
      { stateMachineArn: OUTPUTS.state_machine_arn, maxResults: 1000, nextToken: 'page-2' },
      {
        stateMachineArn: OUTPUTS.state_machine_arn,
        maxResults: 1000,
        nextToken: undefined,
        statusFilter: 'RUNNING',
      },
    ]);
    const report = JSON.parse(io.out.join(''));
    expect(report.time_zone).toBe('America/New_York');
    expect(report.runs.map((run: { run_id: string; state: string }) => `${run.run_id}:${run.state}`)).toEqual(
      ['r4:failed', 'r3:unfinished', 'r2:running', 'r1:succeeded'],
    );
    expect(report.runs[3]).toMatchObject({
      rows_read: 100,
      rows_loaded: 98,
      rows_rejected: 2,
      started_at: '2024-11-07 10:00:00',
    });
    expect(report.to_rerun.map((object: { source_object: string }) => object.source_object)).toEqual([
      `${BUCKET}/c.csv`,
      `${BUCKET}/d.csv`,
    ]);
    expect(report.lost_executions).toEqual([
      { name: 'lost-1', status: 'FAILED', startedAt: '2024-11-08T05:20:00.000Z' },
    ]);
    expect(
      report.days.map((day: { day: string; present: number; expected: number }) => [
        day.day,
        day.present,
        day.expected,
      ]),
    ).toEqual([
      ['2024-11-06', 48, 48],
      ['2024-11-07', 0, 48],
    ]);
  });
});

describe('agent-etl rerun --aws', () => {
  test('--failed queues the current version of each object whose latest run failed or died, then starts one drain', async () => {
    answer('ops/latest_runs.sql', 'latest', LATEST_COLUMNS, [
      [`${BUCKET}/2024/a.csv`, 'r1', 'SUCCEEDED', '2024-11-07 10:00:00.000', null, 'e1'],
      [`${BUCKET}/2024/b.csv`, 'r2', 'RUNNING', '2024-11-08 04:00:00.000', null, null],
      [`${BUCKET}/2024/c.csv`, 'r3', 'RUNNING', '2024-11-08 05:00:00.000', null, null],
      [`${BUCKET}/2024/d.csv`, 'r4', 'FAILED', '2024-11-08 05:30:00.000', 'missing column', 'e0'],
    ]);
    sfn.on(ListExecutionsCommand).resolves({
      executions: [
        {
          executionArn: 'x:r2',
          stateMachineArn: 's',
          name: 'r2',
          status: 'RUNNING',
          startDate: new Date(),
        },
      ],
    });
    s3.on(HeadObjectCommand, { Key: '2024/c.csv' }).resolves({ ETag: '"c-etag"' });
    s3.on(HeadObjectCommand, { Key: '2024/d.csv' }).resolves({ ETag: '"d-fixed"' });
    sqs.on(SendMessageBatchCommand).resolves({ Successful: [], Failed: [] });

    const io = captureIo();
    expect(await rerunCommand(target(), [], { failed: true }, io)).toBe(0);

    expect(athenaRequests().map((request) => [request.file, request.parameters])).toEqual([
      [readSql('ops/latest_runs.sql'), ["''"]],
    ]);
    expect(s3.commandCalls(HeadObjectCommand).map((call) => call.args[0].input)).toEqual([
      { Bucket: BUCKET, Key: '2024/c.csv' },
      { Bucket: BUCKET, Key: '2024/d.csv' },
    ]);
    expect(sqs.commandCalls(SendMessageBatchCommand).map((call) => call.args[0].input)).toEqual([
      {
        QueueUrl: OUTPUTS.pending_queue_url,
        Entries: [
          { Id: '0', MessageBody: JSON.stringify({ bucket: BUCKET, key: '2024/c.csv', etag: 'c-etag' }) },
          { Id: '1', MessageBody: JSON.stringify({ bucket: BUCKET, key: '2024/d.csv', etag: 'd-fixed' }) },
        ],
      },
    ]);
    expect(sfn).toHaveReceivedCommandTimes(StartExecutionCommand, 1);
    expect(sfn).toHaveReceivedCommandWith(StartExecutionCommand, {
      stateMachineArn: OUTPUTS.drain_state_machine_arn,
      input: '{}',
    });
    expect(io.out.join('')).toBe(
      `agent-etl rerun: 2 objects queued for dev (eu-west-1); drain execution ${DRAIN_ARN}\n  follow the runs with: agent-etl status --aws --env dev\n`,
    );
  });

  test('objects outside bronze, or missing, are refused before anything is queued', async () => {
    s3.on(HeadObjectCommand, { Key: 'there.csv' }).resolves({ ETag: '"t"' });
    s3.on(HeadObjectCommand, { Key: 'gone.csv' }).rejects(
      new NotFound({ message: 'Not Found', $metadata: {} }),
    );
    await expect(
      rerunCommand(
        target(),
        [`s3://${BUCKET}/there.csv`, `${BUCKET}/gone.csv`],
        { failed: false },
        captureIo(),
      ),
    ).rejects.toThrow(`${BUCKET}/gone.csv: no such object in s3://${BUCKET}`);
    await expect(
      rerunCommand(target(), ['other-bucket/a.csv'], { failed: false }, captureIo()),
    ).rejects.toThrow(
      `other-bucket/a.csv: not in the bronze bucket ${BUCKET}; the pipeline reads only bronze`,
    );
    expect(sqs).toHaveReceivedCommandTimes(SendMessageBatchCommand, 0);
    expect(sfn).toHaveReceivedCommandTimes(StartExecutionCommand, 0);
  });
});

describe('agent-etl backfill --aws', () => {
  /** Two sites' daily exports: S3 lists them by key, the backfill wants them by day. */
  const keys = Array.from({ length: 13 }, (_, i) => {
    const day = String(i + 1).padStart(2, '0');
    return `exports/site-${i % 2 === 0 ? 'b' : 'a'}/2024-11-${day}.csv`;
  }).sort();

  test('lists every page, skips versions already loaded, queues the rest by day 10 at a time, starts one drain', async () => {
    const etag = (key: string) => `"${key.slice(-6, -4)}-etag"`;
    s3.on(ListObjectsV2Command, { ContinuationToken: undefined }).resolves({
      Contents: [
        ...keys.slice(0, 8).map((Key) => ({ Key, ETag: etag(Key) })),
        { Key: 'exports/readme.txt', ETag: '"x"' },
      ],
      IsTruncated: true,
      NextContinuationToken: 'page-2',
    });
    s3.on(ListObjectsV2Command, { ContinuationToken: 'page-2' }).resolves({
      Contents: keys.slice(8).map((Key) => ({ Key, ETag: etag(Key) })),
      IsTruncated: false,
    });
    // Nov 1 already loaded this version; Nov 2 loaded an older one.
    answer('ops/latest_runs.sql', 'latest', LATEST_COLUMNS, [
      [
        `${BUCKET}/exports/site-b/2024-11-01.csv`,
        'r1',
        'SUCCEEDED',
        '2024-11-07 10:00:00.000',
        null,
        '01-etag',
      ],
      [
        `${BUCKET}/exports/site-a/2024-11-02.csv`,
        'r2',
        'SUCCEEDED',
        '2024-11-07 10:00:00.000',
        null,
        'old-etag',
      ],
    ]);
    sqs.on(SendMessageBatchCommand).resolves({ Failed: [] });

    const io = captureIo();
    expect(await backfillCommand(target(), 'exports/', {}, io)).toBe(0);

    expect(s3.commandCalls(ListObjectsV2Command).map((call) => call.args[0].input)).toEqual([
      { Bucket: BUCKET, Prefix: 'exports/', ContinuationToken: undefined },
      { Bucket: BUCKET, Prefix: 'exports/', ContinuationToken: 'page-2' },
    ]);
    expect(athenaRequests().map((request) => [request.file, request.parameters])).toEqual([
      [readSql('ops/latest_runs.sql'), [`'${BUCKET}/exports/'`]],
    ]);
    const batches = sqs.commandCalls(SendMessageBatchCommand).map((call) => call.args[0].input);
    expect(batches.map((batch) => batch.QueueUrl)).toEqual([
      OUTPUTS.pending_queue_url,
      OUTPUTS.pending_queue_url,
    ]);
    expect(batches.map((batch) => batch.Entries?.length)).toEqual([10, 2]);
    const messages = batches.flatMap(
      (batch) => batch.Entries?.map((entry) => JSON.parse(entry.MessageBody ?? '')) ?? [],
    );
    const days = Array.from({ length: 12 }, (_, i) => String(i + 2).padStart(2, '0'));
    expect(messages).toEqual(
      days.map((day) => {
        const key = `exports/site-${Number(day) % 2 === 1 ? 'b' : 'a'}/2024-11-${day}.csv`;
        return { bucket: BUCKET, key, etag: `${day}-etag` };
      }),
    );
    expect(sfn).toHaveReceivedCommandWith(StartExecutionCommand, {
      stateMachineArn: OUTPUTS.drain_state_machine_arn,
      input: '{}',
    });
    expect(io.out.join('')).toBe(
      [
        `agent-etl backfill: 13 objects under s3://${BUCKET}/exports/, 1 already loaded (same ETag), 12 objects queued for dev (eu-west-1); drain execution ${DRAIN_ARN}`,
        '  follow the runs with: agent-etl status --aws --env dev',
        '',
      ].join('\n'),
    );
    expect(io.err).toHaveLength(12);
  });

  test('a batch SQS partly refuses stops the backfill with the objects named, and no drain starts', async () => {
    s3.on(ListObjectsV2Command).resolves({
      Contents: keys.slice(0, 3).map((Key) => ({ Key, ETag: '"e"' })),
      IsTruncated: false,
    });
    answer('ops/latest_runs.sql', 'latest', LATEST_COLUMNS, []);
    sqs.on(SendMessageBatchCommand).resolves({
      Successful: [],
      Failed: [{ Id: '1', Code: 'InvalidMessageContents', SenderFault: true, Message: 'bad' }],
    });
    await expect(backfillCommand(target(), `s3://${BUCKET}/exports/`, {}, captureIo())).rejects.toThrow(
      `SQS refused 1 of 3 messages (0 queued before this batch): s3://${BUCKET}/exports/site-a/2024-11-04.csv: InvalidMessageContents bad`,
    );
    expect(sfn).toHaveReceivedCommandTimes(StartExecutionCommand, 0);
  });

  test("a prefix longer than Athena's 1,024-character parameter is refused before a query starts", async () => {
    s3.on(ListObjectsV2Command).resolves({ Contents: [], IsTruncated: false });
    await expect(backfillCommand(target(), 'p'.repeat(1100), {}, captureIo())).rejects.toThrow(
      /over Athena's 1024/,
    );
    expect(athena).toHaveReceivedCommandTimes(StartQueryExecutionCommand, 0);
  });

  test('a bucket other than bronze is refused before listing', async () => {
    await expect(backfillCommand(target(), 's3://someone-else/exports/', {}, captureIo())).rejects.toThrow(
      `s3://someone-else/exports/: not in the bronze bucket ${BUCKET}`,
    );
    expect(s3).toHaveReceivedCommandTimes(ListObjectsV2Command, 0);
  });
});
