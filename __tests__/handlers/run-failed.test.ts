import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AthenaClient,
  GetQueryExecutionCommand,
  GetQueryResultsCommand,
  StartQueryExecutionCommand,
} from '@aws-sdk/client-athena';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { DescribeExecutionCommand, SFNClient } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { buildSync } from 'esbuild';
import 'aws-sdk-client-mock-jest';
import type { UndoSql } from '../../handlers/run-failed/backstop';
import { awsDependencies, createRunFailedHandler } from '../../handlers/run-failed/handler';
import { MAX_ERROR_CHARACTERS } from '../../handlers/run-failed/record';
import { checkPutEvents, checkStartQueryExecution } from '../../local/strict-twin';
import { LAMBDA_BUNDLE_OPTIONS } from '../../workflow/lambda-bundle';
import { renderSql } from '../../workflow/sql-template';
import { RUN_DAYS, readSql, UNDO_STEPS } from '../../workflow/steps';

/** What handlers/run-failed/index.ts bundles: the undo steps' SQL text. */
const UNDO_SQL = { runDays: readSql(RUN_DAYS.file), steps: UNDO_STEPS.map((step) => readSql(step.file)) };

const athena = mockClient(AthenaClient);
const sfn = mockClient(SFNClient);
const events = mockClient(EventBridgeClient);
const env = {
  ATHENA_WORKGROUP: 'agent-etl-dev',
  GLUE_DATABASE: 'agent_etl_dev',
  EVENT_BUS_NAME: 'agent-etl-dev-pipeline',
};
const recordSql = readSql('failure/record_failed_run.sql');
const cause = `ICEBERG_COMMIT_ERROR: ${'y'.repeat(30_000)}`;
const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');

/** Answers Athena: each query succeeds; a SELECT whose text holds a fragment returns its one row. */
function athenaAnswers(results: Record<string, Record<string, string>>) {
  let n = 0;
  athena.on(StartQueryExecutionCommand).callsFake(() => ({ QueryExecutionId: `q-${++n}` }));
  athena.on(GetQueryExecutionCommand).resolves({ QueryExecution: { Status: { State: 'SUCCEEDED' } } });
  athena.on(GetQueryResultsCommand).callsFake(({ QueryExecutionId }: { QueryExecutionId: string }) => {
    const started = athena.commandCalls(StartQueryExecutionCommand)[Number(QueryExecutionId.slice(2)) - 1];
    const text = started?.args[0].input.QueryString ?? '';
    const hit = Object.entries(results).find(([fragment]) => text.includes(fragment))?.[1] ?? {};
    const columns = Object.keys(hit);
    const header = { Data: columns.map((name) => ({ VarCharValue: name })) };
    return {
      ResultSet: {
        ResultSetMetadata: { ColumnInfo: columns.map((name) => ({ Name: name, Type: 'varchar' })) },
        Rows:
          columns.length > 0
            ? [header, { Data: columns.map((name) => ({ VarCharValue: hit[name] })) }]
            : [header],
      },
    };
  });
}

beforeEach(() => {
  athena.reset();
  sfn.reset();
  events.reset();
});

describe('the run-failed Lambda at the SDK edge', () => {
  test('a caught failure: one FAILED row, the state named, the cause truncated, values only as base64', async () => {
    athenaAnswers({});
    const handler = createRunFailedHandler(() => awsDependencies(env, recordSql, { runDays: '', steps: [] }));
    await handler({
      run_id: "run'1",
      started_at: '2024-11-19T01:02:03.456Z',
      bucket: 'agent-etl-dev-bronze',
      key: "o'brien.csv",
      etag: 'abc',
      state: 'MergeIntervals',
      error: 'States.TaskFailed',
      cause,
    });
    const calls = athena.commandCalls(StartQueryExecutionCommand);
    expect(calls).toHaveLength(1);
    const request = calls[0]?.args[0].input as { QueryString: string; ExecutionParameters?: string[] };
    expect(() => checkStartQueryExecution(request)).not.toThrow();
    expect(request.QueryString.startsWith('merge into pipeline_runs')).toBe(true);
    expect(request.QueryString).toContain(b64("run'1"));
    expect(request.QueryString).not.toContain("o'brien");
    const error = [...request.QueryString.matchAll(/from_base64\('([^']*)'\)/g)]
      .map((m) => Buffer.from(m[1] ?? '', 'base64').toString('utf8'))
      .find((text) => text.startsWith('MergeIntervals: '));
    expect(error?.startsWith('MergeIntervals: States.TaskFailed: ICEBERG_COMMIT_ERROR: yyy')).toBe(true);
    expect(error?.length).toBeLessThan(MAX_ERROR_CHARACTERS + 60);
    const whole = 'MergeIntervals: States.TaskFailed: '.length + cause.length;
    expect(error?.endsWith(`[truncated from ${whole} characters]`)).toBe(true);
    expect(events).not.toHaveReceivedCommand(PutEventsCommand);
  });

  test('a timed-out execution: described, recorded, and its FAILED completion event sent', async () => {
    athenaAnswers({
      'select status': { status: 'RUNNING' },
      'select error': { error: 'Execution TIMED_OUT: States.Timeout: late' },
    });
    sfn.on(DescribeExecutionCommand).resolves({
      input: JSON.stringify({ bucket: 'agent-etl-dev-bronze', key: 'exports/day.csv', etag: 'abc' }),
      startDate: new Date('2024-11-19T01:02:03.000Z'),
      error: 'States.Timeout',
      cause,
    });
    events.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'e-1' }] });
    const handler = createRunFailedHandler(() => awsDependencies(env, recordSql, { runDays: '', steps: [] }));
    const result = await handler({
      source: 'aws.states',
      'detail-type': 'Step Functions Execution Status Change',
      detail: {
        executionArn: 'arn:aws:states:eu-west-1:1:execution:p:run-9',
        name: 'run-9',
        status: 'TIMED_OUT',
      },
    });
    expect(result).toEqual({ recorded: true });
    expect(sfn).toHaveReceivedCommandWith(DescribeExecutionCommand, {
      executionArn: 'arn:aws:states:eu-west-1:1:execution:p:run-9',
    });
    const queries = athena.commandCalls(StartQueryExecutionCommand).map((c) => c.args[0].input);
    expect(queries.map((q) => q.QueryString?.split(' ').slice(0, 2).join(' '))).toEqual([
      'select status',
      'merge into',
      'select error',
    ]);
    expect(queries[0]?.ExecutionParameters).toEqual(["'run-9'"]);
    for (const query of queries) expect(() => checkStartQueryExecution(query as never)).not.toThrow();
    const entries = events.commandCalls(PutEventsCommand)[0]?.args[0].input.Entries ?? [];
    expect(() => checkPutEvents(entries as never)).not.toThrow();
    expect(entries[0]).toMatchObject({ EventBusName: env.EVENT_BUS_NAME, Source: 'agent-activity-etl' });
    const detail = JSON.parse(entries[0]?.Detail ?? '{}');
    expect(detail).toMatchObject({
      status: 'FAILED',
      run_id: 'run-9',
      bucket: 'agent-etl-dev-bronze',
      key: 'exports/day.csv',
      error: 'Execution TIMED_OUT: States.Timeout: late',
    });
    expect(detail.cause.length).toBeLessThan(MAX_ERROR_CHARACTERS + 60);
  });

  test('a failure the state machine already recorded is not recorded twice; its event still goes out', async () => {
    athenaAnswers({ 'select status': { status: 'FAILED' }, 'select error': { error: 'LoadCsvToSilver: x' } });
    sfn.on(DescribeExecutionCommand).resolves({
      input: JSON.stringify({ bucket: 'b', key: 'k.csv' }),
      startDate: new Date('2024-11-19T01:02:03.000Z'),
      error: 'FileRefusedError',
      cause: 'b/k.csv: the file is empty',
    });
    events.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'e-2' }] });
    const handler = createRunFailedHandler(() => awsDependencies(env, recordSql, { runDays: '', steps: [] }));
    const result = await handler({
      source: 'aws.states',
      'detail-type': 'Step Functions Execution Status Change',
      detail: { executionArn: 'arn:x', name: 'run-10', status: 'FAILED' },
    });
    expect(result).toEqual({ recorded: false });
    expect(
      JSON.parse(events.commandCalls(PutEventsCommand)[0]?.args[0].input.Entries?.[0]?.Detail ?? '{}').run_id,
    ).toBe('run-10');
    const texts = athena.commandCalls(StartQueryExecutionCommand).map((c) => c.args[0].input.QueryString);
    expect(texts.some((t) => t?.startsWith('merge'))).toBe(false);
    expect(
      JSON.parse(events.commandCalls(PutEventsCommand)[0]?.args[0].input.Entries?.[0]?.Detail ?? '{}').error,
    ).toBe('LoadCsvToSilver: x');
  });

  test("the drain's repair of a timed-out child: its row closed FAILED as interrupted, then the undo MERGEs with its run id", async () => {
    athenaAnswers({
      'select status': { status: 'FAILED' },
      'as first_day': { first_day: '2024-11-18', last_day: '2024-11-19' },
    });
    sfn.on(DescribeExecutionCommand).resolves({
      input: JSON.stringify({ bucket: 'b', key: 'k.csv', etag: 'e' }),
      startDate: new Date('2024-11-19T01:02:03.000Z'),
      status: 'TIMED_OUT',
    });
    const handler = createRunFailedHandler(() => awsDependencies(env, recordSql, UNDO_SQL));
    const result = await handler({
      repair: { execution_arn: 'arn:aws:states:eu-west-1:1:execution:p:msg-1' },
    });
    expect(result).toEqual({ repaired: true });
    const queries = athena.commandCalls(StartQueryExecutionCommand).map((c) => c.args[0].input);
    for (const query of queries) expect(() => checkStartQueryExecution(query as never)).not.toThrow();
    const [record, status, days, ...undo] = queries.map((q) => q.QueryString ?? '');
    expect(record?.startsWith('merge into pipeline_runs')).toBe(true);
    const recorded = [...(record ?? '').matchAll(/from_base64\('([^']*)'\)/g)].map((m) =>
      Buffer.from(m[1] ?? '', 'base64').toString('utf8'),
    );
    expect(recorded).toContain('msg-1');
    expect(recorded).toContainEqual(
      expect.stringMatching(/^Interrupted \(execution TIMED_OUT\): States.Timeout: the run was interrupted/),
    );
    expect(status?.startsWith('select status')).toBe(true);
    expect(days).toBe(renderSql(UNDO_SQL.runDays, { run_id: 'msg-1' }));
    expect(undo.map((text) => text.split(' ').slice(0, 3).join(' '))).toEqual([
      'merge into agent_intervals',
      'insert into agent_intervals',
      'merge into weekly_summary',
    ]);
    // each undo MERGE takes the run and the days its run-days query returned, as literals
    for (const text of undo) {
      expect(text).toContain(b64('msg-1'));
      expect(text).toContain(b64('2024-11-18'));
      expect(text).toContain(b64('2024-11-19'));
    }
    expect(events).not.toHaveReceivedCommand(PutEventsCommand);
  });

  test('a repair of a child that succeeded or still runs is refused, and nothing is written', async () => {
    athenaAnswers({});
    for (const status of ['SUCCEEDED', 'RUNNING'] as const) {
      sfn.on(DescribeExecutionCommand).resolves({
        input: JSON.stringify({ bucket: 'b', key: 'k.csv' }),
        startDate: new Date(),
        status,
      });
      const handler = createRunFailedHandler(() => awsDependencies(env, recordSql, UNDO_SQL));
      await expect(handler({ repair: { execution_arn: 'arn:x:msg-2' } })).rejects.toThrow(
        new RegExp(`is ${status}, not ended without success`),
      );
    }
    expect(athena).not.toHaveReceivedCommand(StartQueryExecutionCommand);
  });

  test('the Lambda bundles the run-days query and the undo MERGEs of UNDO_STEPS, in order', () => {
    const index = readFileSync(join(__dirname, '..', '..', 'handlers', 'run-failed', 'index.ts'), 'utf8');
    const imports = [...index.matchAll(/from '\.\.\/\.\.\/sql\/(pipeline\/[^']+)'/g)].map((m) => m[1]);
    expect(imports.sort()).toEqual([RUN_DAYS.file, ...UNDO_STEPS.map((step) => step.file)].sort());
  });

  test('the bundle carries the undo statements as the engines run them, the rule included', () => {
    const dir = mkdtempSync(join(tmpdir(), 'agent-etl-bundle-'));
    try {
      const outfile = join(dir, 'index.js');
      buildSync({
        ...LAMBDA_BUNDLE_OPTIONS,
        entryPoints: [join(__dirname, '..', '..', 'handlers', 'run-failed', 'index.ts')],
        outfile,
      });
      const bundled = (require(outfile) as { UNDO_SQL: UndoSql }).UNDO_SQL;
      expect(bundled).toEqual(UNDO_SQL);
      // The rule's own CTEs are in the MERGE and the INSERT, not an include line.
      for (const sql of bundled.steps.slice(0, 2)) {
        expect(sql).toContain('interval_totals as (');
        expect(sql).not.toMatch(/^\s*-- include \S+\s*$/m);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('an event of another shape is refused, so EventBridge retries it into the dead-letter queue', async () => {
    const handler = createRunFailedHandler(() => awsDependencies(env, recordSql, { runDays: '', steps: [] }));
    await expect(handler({ source: 'aws.s3' })).rejects.toThrow();
  });
});
