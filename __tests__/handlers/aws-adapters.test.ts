import {
  AthenaClient,
  GetQueryExecutionCommand,
  GetQueryResultsCommand,
  StartQueryExecutionCommand,
  StopQueryExecutionCommand,
} from '@aws-sdk/client-athena';
import { DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { GetParametersCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { AthenaQueryEngine } from '../../handlers/aws/athena-query-engine';
import { DynamoDbAlertStateStore } from '../../handlers/aws/dynamodb-alert-state';
import { SnsPublisher } from '../../handlers/aws/sns-publisher';
import { SqsDeadLetterQueue } from '../../handlers/aws/sqs-dead-letter-queue';
import { loadWebhookTargets } from '../../handlers/aws/ssm-webhook-targets';

const athena = mockClient(AthenaClient);
const sns = mockClient(SNSClient);
const ssm = mockClient(SSMClient);
const dynamo = mockClient(DynamoDBClient);
const sqs = mockClient(SQSClient);

beforeEach(() => {
  athena.reset();
  sns.reset();
  ssm.reset();
  dynamo.reset();
  sqs.reset();
});

function engine(sleeps: number[] = [], timeoutMs = 60_000) {
  return new AthenaQueryEngine(new AthenaClient({ region: 'us-east-1' }), {
    workGroup: 'agent-etl-dev',
    database: 'agent_etl_dev',
    firstPollMs: 100,
    maxPollMs: 400,
    timeoutMs,
    sleep: async (ms) => void sleeps.push(ms),
  });
}

const columns = [
  { Name: 'interval_start', Type: 'varchar' },
  { Name: 'rows', Type: 'bigint' },
];
const row = (...values: (string | undefined)[]) => ({
  Data: values.map((v) => (v === undefined ? {} : { VarCharValue: v })),
});

describe('the Athena query engine', () => {
  it('sends parameters as ExecutionParameters, polls until SUCCEEDED and reads every page', async () => {
    athena.on(StartQueryExecutionCommand).resolves({ QueryExecutionId: 'q-1' });
    athena
      .on(GetQueryExecutionCommand)
      .resolvesOnce({ QueryExecution: { Status: { State: 'QUEUED' } } })
      .resolvesOnce({ QueryExecution: { Status: { State: 'RUNNING' } } })
      .resolvesOnce({ QueryExecution: { Status: { State: 'RUNNING' } } })
      .resolvesOnce({ QueryExecution: { Status: { State: 'RUNNING' } } })
      .resolves({ QueryExecution: { Status: { State: 'SUCCEEDED' } } });
    athena
      .on(GetQueryResultsCommand, { QueryExecutionId: 'q-1', NextToken: undefined })
      .resolves({
        ResultSet: {
          ResultSetMetadata: { ColumnInfo: columns },
          Rows: [row('interval_start', 'rows'), row('2024-11-04 08:00:00.000', '3')],
        },
        NextToken: 'page-2',
      })
      .on(GetQueryResultsCommand, { QueryExecutionId: 'q-1', NextToken: 'page-2' })
      .resolves({
        ResultSet: {
          ResultSetMetadata: { ColumnInfo: columns },
          Rows: [row('2024-11-04 08:30:00.000', undefined)],
        },
      });

    const sleeps: number[] = [];
    const rows = await engine(sleeps).query('select ...', ["it's", '2024-11-04 00:00:00', 42, null]);

    expect(athena).toHaveReceivedCommandWith(StartQueryExecutionCommand, {
      QueryString: 'select ...',
      WorkGroup: 'agent-etl-dev',
      QueryExecutionContext: { Database: 'agent_etl_dev' },
      ExecutionParameters: ["'it''s'", "'2024-11-04 00:00:00'", '42', 'NULL'],
    });
    expect(athena).toHaveReceivedCommandTimes(GetQueryExecutionCommand, 5);
    expect(sleeps).toEqual([100, 200, 400, 400]);
    expect(athena).toHaveReceivedCommandTimes(GetQueryResultsCommand, 2);
    expect(rows).toEqual([
      { interval_start: '2024-11-04 08:00:00.000', rows: 3 },
      { interval_start: '2024-11-04 08:30:00.000', rows: null },
    ]);
  });

  it('sends no ExecutionParameters for a statement without placeholders', async () => {
    athena.on(StartQueryExecutionCommand).resolves({ QueryExecutionId: 'q-2' });
    athena.on(GetQueryExecutionCommand).resolves({ QueryExecution: { Status: { State: 'SUCCEEDED' } } });
    athena
      .on(GetQueryResultsCommand)
      .resolves({ ResultSet: { ResultSetMetadata: { ColumnInfo: [] }, Rows: [] } });
    await engine().query('select 1');
    expect(
      athena.commandCalls(StartQueryExecutionCommand)[0]?.args[0].input.ExecutionParameters,
    ).toBeUndefined();
  });

  it.each([
    [
      'FAILED',
      { State: 'FAILED', AthenaError: { ErrorMessage: 'COLUMN_NOT_FOUND: interval_start' } },
      /q-3 FAILED: COLUMN_NOT_FOUND/,
    ],
    [
      'CANCELLED',
      { State: 'CANCELLED', StateChangeReason: 'cancelled by user' },
      /q-3 CANCELLED: cancelled by user/,
    ],
  ] as const)('surfaces a %s query as an error', async (_state, status, message) => {
    athena.on(StartQueryExecutionCommand).resolves({ QueryExecutionId: 'q-3' });
    athena.on(GetQueryExecutionCommand).resolves({ QueryExecution: { Status: status } });
    await expect(engine().query('select 1')).rejects.toThrow(message);
    expect(athena).not.toHaveReceivedCommand(GetQueryResultsCommand);
  });

  it('stops a query that runs past its timeout', async () => {
    athena.on(StartQueryExecutionCommand).resolves({ QueryExecutionId: 'q-4' });
    athena.on(GetQueryExecutionCommand).resolves({ QueryExecution: { Status: { State: 'RUNNING' } } });
    await expect(engine([], 500).query('select 1')).rejects.toThrow(/q-4 still RUNNING after 500 ms/);
    expect(athena).toHaveReceivedCommandWith(StopQueryExecutionCommand, { QueryExecutionId: 'q-4' });
  });
});

describe('the SNS publisher', () => {
  it('publishes subject, message and String message attributes for filter policies', async () => {
    sns.on(PublishCommand).resolves({ MessageId: 'm-1' });
    await new SnsPublisher(
      new SNSClient({ region: 'us-east-1' }),
      'arn:aws:sns:us-east-1:123456789012:alerts',
    ).publish({
      subject: 'Coverage gap: No data, 2024-11-04 (UTC)',
      message: 'line one\nline two',
      attributes: { kind: 'coverage_gap', severity: 'critical' },
    });
    expect(sns).toHaveReceivedCommandWith(PublishCommand, {
      TopicArn: 'arn:aws:sns:us-east-1:123456789012:alerts',
      Subject: 'Coverage gap: No data, 2024-11-04 (UTC)',
      Message: 'line one\nline two',
      MessageAttributes: {
        kind: { DataType: 'String', StringValue: 'coverage_gap' },
        severity: { DataType: 'String', StringValue: 'critical' },
      },
    });
  });

  it('keeps the subject within what SNS accepts: ASCII, one line, under 100 characters', async () => {
    sns.on(PublishCommand).resolves({});
    await new SnsPublisher(new SNSClient({ region: 'us-east-1' }), 'arn:topic').publish({
      subject: `Pipeline run failed: ${'é'.repeat(3)}\n${'x'.repeat(120)}`,
      message: 'm',
      attributes: {},
    });
    const subject = sns.commandCalls(PublishCommand)[0]?.args[0].input.Subject ?? '';
    expect(subject.startsWith('Pipeline run failed: ????x')).toBe(true);
    expect(subject).toHaveLength(99);
    expect(subject.endsWith('...')).toBe(true);
  });
});

describe('SSM webhook targets', () => {
  it('reads SecureStrings decrypted, ten names a call, and tells Slack hooks by name', async () => {
    const names = Array.from(
      { length: 11 },
      (_, i) => `/etl/prod/webhooks/${i === 0 ? 'slack-oncall' : `hook-${i}`}`,
    );
    ssm.on(GetParametersCommand).callsFake((input: { Names: string[] }) => ({
      Parameters: input.Names.map((Name) => ({
        Name,
        Value: `https://hooks.example/${Name.split('/').pop()}`,
      })),
      InvalidParameters: [],
    }));
    const targets = await loadWebhookTargets(new SSMClient({ region: 'us-east-1' }), names);
    expect(ssm).toHaveReceivedCommandTimes(GetParametersCommand, 2);
    expect(ssm).toHaveReceivedNthCommandWith(1, GetParametersCommand, {
      Names: names.slice(0, 10),
      WithDecryption: true,
    });
    expect(targets[0]).toEqual({
      name: names[0],
      format: 'slack',
      url: 'https://hooks.example/slack-oncall',
    });
    expect(targets[10]).toEqual({ name: names[10], format: 'json', url: 'https://hooks.example/hook-10' });
  });

  it('fails loudly on a missing parameter', async () => {
    ssm.on(GetParametersCommand).resolves({ Parameters: [], InvalidParameters: ['/etl/prod/webhooks/gone'] });
    await expect(
      loadWebhookTargets(new SSMClient({ region: 'us-east-1' }), ['/etl/prod/webhooks/gone']),
    ).rejects.toThrow('SSM parameters not found: /etl/prod/webhooks/gone');
  });
});

describe('DynamoDB alert state and the SQS dead-letter queue', () => {
  it('reads consistently and writes one item per window_key', async () => {
    dynamo.on(GetItemCommand).resolves({
      Item: {
        window_key: { S: 'UTC|2024-11-04 00:00:00|2024-11-05 00:00:00' },
        status: { S: 'open' },
        fingerprint: { S: '2024-11-04 14:00:00/2024-11-05 00:00:00' },
        updated_at: { S: '2024-11-05T06:00:00.000Z' },
      },
    });
    dynamo.on(PutItemCommand).resolves({});
    const store = new DynamoDbAlertStateStore(new DynamoDBClient({ region: 'us-east-1' }), 'alert-state');
    const key = 'UTC|2024-11-04 00:00:00|2024-11-05 00:00:00';
    expect(await store.get(key)).toEqual({
      windowKey: key,
      status: 'open',
      fingerprint: '2024-11-04 14:00:00/2024-11-05 00:00:00',
      updatedAt: '2024-11-05T06:00:00.000Z',
    });
    expect(dynamo).toHaveReceivedCommandWith(GetItemCommand, {
      TableName: 'alert-state',
      Key: { window_key: { S: key } },
      ConsistentRead: true,
    });
    await store.put({
      windowKey: key,
      status: 'resolved',
      fingerprint: '',
      updatedAt: '2024-11-06T06:00:00.000Z',
    });
    expect(dynamo).toHaveReceivedCommandWith(PutItemCommand, {
      TableName: 'alert-state',
      Item: {
        window_key: { S: key },
        status: { S: 'resolved' },
        fingerprint: { S: '' },
        updated_at: { S: '2024-11-06T06:00:00.000Z' },
      },
    });
  });

  it('answers undefined for a window never alerted', async () => {
    dynamo.on(GetItemCommand).resolves({});
    const store = new DynamoDbAlertStateStore(new DynamoDBClient({ region: 'us-east-1' }), 'alert-state');
    expect(await store.get('UTC|x|y')).toBeUndefined();
  });

  it('sends dead letters to the queue as they are', async () => {
    sqs.on(SendMessageCommand).resolves({});
    await new SqsDeadLetterQueue(new SQSClient({ region: 'us-east-1' }), 'https://sqs.example/dlq').send(
      '{"a":1}',
    );
    expect(sqs).toHaveReceivedCommandWith(SendMessageCommand, {
      QueueUrl: 'https://sqs.example/dlq',
      MessageBody: '{"a":1}',
    });
  });
});
