import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateEvents } from '../cli/generate';
import type { Lake } from '../local/lake';
import { LOCAL_BUCKET, LOCAL_RESOURCES, runFile } from '../local/runner';
import { buildDefinition } from '../workflow/definition';
import {
  buildDrainDefinition,
  CHILD_NOT_STARTED,
  DRAIN_STATES,
  LOCK_ID,
  MAX_ROUNDS_PER_EXECUTION,
  RECEIVE_BATCH,
} from '../workflow/drain-definition';
import { LocalDrains } from './support/aws-twins/drain';
import { LocalDynamoTable } from './support/aws-twins/dynamodb';
import { TaskError } from './support/aws-twins/errors';
import { LocalSqsQueue } from './support/aws-twins/sqs';
import { LocalStepFunctions } from './support/aws-twins/step-functions';
import { dataExports, ingest, withLake } from './support/lake';

const TABLE = 'agent-etl-test-pipeline-lock';
const QUEUE_URL = 'https://sqs.eu-west-1.amazonaws.com/123456789012/agent-etl-test-pending-objects';
const PIPELINE_TIMEOUT = buildDefinition(LOCAL_RESOURCES).TimeoutSeconds;

interface PendingObject {
  readonly bucket: string;
  readonly key: string;
  readonly etag?: string;
}

/** The local account: lock table, pending-objects queue (with its DLQ), executions, and the drain. */
function account(runPipeline: (input: PendingObject, executionArn: string) => Promise<unknown>) {
  let clock = 1_000_000;
  const now = () => clock;
  const table = new LocalDynamoTable(TABLE, 'lock_id');
  const deadLetterQueue = new LocalSqsQueue(`${QUEUE_URL}-dlq`, { visibilityTimeoutSeconds: 30, now });
  const queue = new LocalSqsQueue(QUEUE_URL, {
    visibilityTimeoutSeconds: 30,
    maxReceiveCount: 3,
    deadLetterQueue,
    now,
  });
  const stepFunctions = new LocalStepFunctions();
  const pipelineArn = stepFunctions.stateMachineArn('agent-etl-test-pipeline');
  const drainArn = stepFunctions.stateMachineArn('agent-etl-test-drain');
  const definition = buildDrainDefinition({
    lockTableName: TABLE,
    queueUrl: QUEUE_URL,
    pipelineStateMachineArn: pipelineArn,
    pipelineTimeoutSeconds: PIPELINE_TIMEOUT,
  });
  const drains = new LocalDrains(
    {
      table,
      queue,
      stepFunctions,
      drainStateMachineArn: drainArn,
      runPipeline: (input, arn) => runPipeline(input as PendingObject, arn),
    },
    definition,
  );
  /** What the bronze rule does for one Object Created event: a message, then a drain execution. */
  const objectCreated = (key: string, startDrain = true) => {
    queue.sendMessage(JSON.stringify({ bucket: LOCAL_BUCKET, key, etag: `"${key.length}"` }));
    return startDrain ? drains.start() : undefined;
  };
  const advance = (seconds: number) => {
    clock += seconds * 1000;
  };
  return {
    table,
    queue,
    deadLetterQueue,
    stepFunctions,
    pipelineArn,
    drainArn,
    drains,
    objectCreated,
    advance,
  };
}

/** Counts children running at once, and which objects ran. */
function concurrencyProbe() {
  let active = 0;
  const probe = { max: 0, ran: [] as string[] };
  const around = async <T>(key: string, work: () => Promise<T>): Promise<T> => {
    active += 1;
    probe.max = Math.max(probe.max, active);
    try {
      // Let every other drain take its turn while this child runs.
      await new Promise((resolve) => setImmediate(resolve));
      probe.ran.push(key);
      return await work();
    } finally {
      active -= 1;
    }
  };
  return { probe, around };
}

/** Generated shifts dealt round-robin into `count` files, so every extension's spans cross files. */
function generatedFiles(dir: string, count: number): Map<string, string> {
  const source = join(dir, 'all.csv');
  generateEvents(source, { extensions: 6, days: 2, start: '2024-11-09', seed: 5 });
  const [header, ...lines] = readFileSync(source, 'utf8').trimEnd().split('\n');
  const parts: string[][] = Array.from({ length: count }, () => []);
  lines.forEach((line, i) => {
    parts[i % count]?.push(line);
  });
  return new Map(parts.map((part, i) => [`part-${i}.csv`, `${header}\n${part.join('\n')}\n`]));
}

/**
 * The child pipeline: the bronze object (held in `objects`) written to a file named by its key, then
 * the real pipeline state machine on the local DuckDB lake. A FAILED run fails the child execution.
 */
function localPipeline(lake: Lake, dir: string, objects: Map<string, string>) {
  let runs = 0;
  return async (input: PendingObject) => {
    const content = objects.get(input.key);
    if (content === undefined) throw new TaskError('S3.NoSuchKey', `no object ${input.key}`);
    runs += 1;
    const inbox = join(dir, `object-${runs}`);
    mkdirSync(inbox, { recursive: true });
    const file = join(inbox, input.key);
    writeFileSync(file, content);
    const run = await runFile(lake, file, { key: input.key });
    if (run.status === 'FAILED') throw new TaskError('RunFailed', run.error ?? 'failed');
    return { runId: run.runId, status: run.status };
  };
}

const lastState = (states: readonly string[]) => states.at(-1);

describe('serialized runs: concurrent drains of the real drain definition', () => {
  test('a burst of objects with a drain each: one child at a time, each object once, the queue empty, exports equal sequential runs', async () => {
    await withLake(async (lake, dir) => {
      const objects = generatedFiles(dir, 5);
      const keys = [...objects.keys()];
      const { probe, around } = concurrencyProbe();
      const pipeline = localPipeline(lake, dir, objects);
      const world = account((input) => around(input.key, () => pipeline(input)));
      const late = 'late.csv';
      objects.set(late, objects.get('part-0.csv')?.replaceAll('2024', '2025') ?? '');

      // The race the re-check closes: an object lands (and its drain runs to the end) after the holder's
      // last empty receive, before the holder lets go of the lock.
      const receive = world.queue.receiveMessage;
      let lateDrain: Promise<string> | undefined;
      Object.assign(world.queue, {
        receiveMessage: async (input: Parameters<typeof receive>[0]) => {
          const answer = await receive(input);
          if (!answer.Messages && !lateDrain) {
            lateDrain = world.objectCreated(late)?.result;
            await lateDrain;
          }
          return answer;
        },
      });
      for (const key of keys) world.objectCreated(key);
      await world.drains.settled();

      expect(probe.max).toBe(1);
      expect([...probe.ran].sort()).toEqual([...keys, late].sort());
      const runs = world.drains.runs;
      expect(await Promise.all(runs.map((run) => run.result))).toEqual(runs.map(() => 'SUCCEEDED'));
      const endings = runs.map((run) => lastState(run.states));
      expect(endings.filter((state) => state === DRAIN_STATES.drained)).toHaveLength(1);
      expect(endings.filter((state) => state === DRAIN_STATES.anotherHolds)).toHaveLength(runs.length - 1);
      // The holder let go, saw the late object in the queue, took the lock again and ran it.
      const holder = runs.find((run) => lastState(run.states) === DRAIN_STATES.drained);
      const afterRecheck = holder?.states.slice(holder.states.indexOf(DRAIN_STATES.recheck) + 1);
      expect(afterRecheck?.slice(0, 2)).toEqual([DRAIN_STATES.arrived, DRAIN_STATES.acquire]);
      expect(world.queue.counts()).toEqual({ visible: 0, inFlight: 0 });
      expect(world.deadLetterQueue.bodies()).toEqual([]);
      expect(world.table.peek(LOCK_ID)).toBeUndefined();
      const children = world.stepFunctions.executionsOf(world.pipelineArn);
      expect(children.map((child) => child.Status)).toEqual(children.map(() => 'SUCCEEDED'));
      expect(children).toHaveLength(keys.length + 1);
      const [audit] = await lake.query("select count(*) as n from pipeline_runs where status = 'SUCCEEDED'");
      expect(Number(audit?.n)).toBe(keys.length + 1);

      const drained = await dataExports(lake);
      await withLake(async (sequential, seqDir) => {
        const files = probe.ran.map((key) => {
          const file = join(seqDir, key);
          writeFileSync(file, objects.get(key) ?? '');
          return file;
        });
        await ingest(sequential, ...files);
        expect(drained).toEqual(await dataExports(sequential));
      });
    });
  });

  test('a lock whose holder died is taken over; its hidden messages come back and run once', async () => {
    const ran: string[] = [];
    const world = account(async (input) => {
      ran.push(input.key);
      return {};
    });
    const dead = world.stepFunctions.start(world.drainArn, 'dead-drain', {});
    world.stepFunctions.finish(dead, 'FAILED', { error: 'States.Runtime', cause: 'killed' });
    await world.table.putItem({
      TableName: TABLE,
      Item: { lock_id: { S: LOCK_ID }, holder: { S: dead }, started_at: { S: '2026-01-01T00:00:00Z' } },
    });
    for (const key of ['a.csv', 'b.csv', 'c.csv']) world.objectCreated(key, false);
    // The dead drain had received two messages; they stay hidden until their visibility timeout ends.
    await world.queue.receiveMessage({ QueueUrl: QUEUE_URL, MaxNumberOfMessages: 2, VisibilityTimeout: 60 });

    const first = world.drains.start();
    await world.drains.settled();
    expect(first.states).toContain(DRAIN_STATES.takeOver);
    expect(ran).toEqual(['c.csv']);
    expect(world.queue.counts()).toEqual({ visible: 0, inFlight: 2 });

    world.advance(61);
    world.drains.start();
    await world.drains.settled();
    expect(ran.sort()).toEqual(['a.csv', 'b.csv', 'c.csv']);
    expect(world.queue.counts()).toEqual({ visible: 0, inFlight: 0 });
    expect(world.table.peek(LOCK_ID)).toBeUndefined();
  });

  test('a lock whose holder is running is left alone, and the drain ends without touching the queue', async () => {
    const ran: string[] = [];
    const world = account(async (input) => {
      ran.push(input.key);
      return {};
    });
    const holder = world.stepFunctions.start(world.drainArn, 'live-drain', {});
    const lock = {
      lock_id: { S: LOCK_ID },
      holder: { S: holder },
      started_at: { S: '2026-01-01T00:00:00Z' },
    };
    await world.table.putItem({ TableName: TABLE, Item: lock });
    const drain = world.objectCreated('a.csv');
    expect(await drain?.result).toBe('SUCCEEDED');
    expect(drain?.states).toEqual([
      DRAIN_STATES.init,
      DRAIN_STATES.acquire,
      DRAIN_STATES.readLock,
      DRAIN_STATES.lockPresent,
      DRAIN_STATES.describeHolder,
      DRAIN_STATES.holderAlive,
      DRAIN_STATES.anotherHolds,
    ]);
    expect(ran).toEqual([]);
    expect(world.queue.counts()).toEqual({ visible: 1, inFlight: 0 });
    expect(world.table.peek(LOCK_ID)).toEqual(lock);
  });

  test('a failing child does not stop the drain: it records its FAILED run, the rest run, the lock is released', async () => {
    await withLake(async (lake, dir) => {
      const objects = generatedFiles(dir, 2);
      objects.set('empty.csv', '');
      const { probe, around } = concurrencyProbe();
      const pipeline = localPipeline(lake, dir, objects);
      const world = account((input) => around(input.key, () => pipeline(input)));
      const drains = ['part-0.csv', 'empty.csv', 'part-1.csv'].map((key) => world.objectCreated(key));
      await world.drains.settled();

      expect(await Promise.all(drains.map((drain) => drain?.result))).toEqual([
        'SUCCEEDED',
        'SUCCEEDED',
        'SUCCEEDED',
      ]);
      expect(probe.max).toBe(1);
      expect(probe.ran).toEqual(['part-0.csv', 'empty.csv', 'part-1.csv']);
      const children = world.stepFunctions.executionsOf(world.pipelineArn);
      expect(children.map((child) => child.Status)).toEqual(['SUCCEEDED', 'FAILED', 'SUCCEEDED']);
      expect(children[1]?.Cause).toMatch(/empty/i);
      const runs = await lake.query('select source_object, status from pipeline_runs order by started_at');
      expect(runs.map((run) => `${run.source_object} ${run.status}`)).toEqual([
        'bronze/part-0.csv SUCCEEDED',
        'bronze/empty.csv FAILED',
        'bronze/part-1.csv SUCCEEDED',
      ]);
      expect(world.queue.counts()).toEqual({ visible: 0, inFlight: 0 });
      expect(world.table.peek(LOCK_ID)).toBeUndefined();
    });
  });

  test("the drain's own failure releases the lock and fails; the message is not lost", async () => {
    const world = account(async () => ({}));
    Object.assign(world.queue, {
      deleteMessage: async () => {
        throw new TaskError('Sqs.SqsException', 'Service unavailable');
      },
    });
    world.objectCreated('a.csv', false);
    const drain = world.drains.start();
    expect(await drain.result).toBe('FAILED');
    expect(drain.states.slice(-2)).toEqual([DRAIN_STATES.releaseAfterFailure, DRAIN_STATES.failed]);
    expect(world.stepFunctions.status(drain.executionArn)).toBe('FAILED');
    expect(world.table.peek(LOCK_ID)).toBeUndefined();
    expect(world.queue.counts()).toEqual({ visible: 0, inFlight: 1 });
    expect(world.queue.bodies()).toHaveLength(1);
  });

  test('a message received again after its run ended is deleted without a second run', async () => {
    const ran: string[] = [];
    const world = account(async (input) => {
      ran.push(input.key);
      return {};
    });
    world.objectCreated('a.csv', false);
    // A drain that ran this message's child to the end and died before DeleteMessage.
    const [message] =
      (
        await world.queue.receiveMessage({
          QueueUrl: QUEUE_URL,
          MaxNumberOfMessages: 1,
          VisibilityTimeout: 5,
        })
      ).Messages ?? [];
    const child = world.stepFunctions.start(
      world.pipelineArn,
      message?.MessageId ?? '',
      JSON.parse(message?.Body ?? '{}'),
    );
    world.stepFunctions.finish(child, 'SUCCEEDED', { output: {} });
    world.advance(6);

    const drain = world.drains.start();
    expect(await drain.result).toBe('SUCCEEDED');
    expect(ran).toEqual([]);
    expect(world.stepFunctions.executionsOf(world.pipelineArn)).toHaveLength(1);
    expect(world.queue.counts()).toEqual({ visible: 0, inFlight: 0 });
  });

  test('a child that could not start leaves its message in the queue for redelivery, the others run', async () => {
    const ran: string[] = [];
    const world = account(async (input) => {
      ran.push(input.key);
      return {};
    });
    const start = world.stepFunctions.start.bind(world.stepFunctions);
    Object.assign(world.stepFunctions, {
      start: (machine: string, name: string, input: PendingObject) => {
        if (machine === world.pipelineArn && input.key === 'b.csv') {
          throw new TaskError(CHILD_NOT_STARTED[0] ?? '', 'Execution limit exceeded');
        }
        return start(machine, name, input);
      },
    });
    for (const key of ['a.csv', 'b.csv', 'c.csv']) world.objectCreated(key, false);
    const drain = world.drains.start();
    expect(await drain.result).toBe('SUCCEEDED');
    expect(ran).toEqual(['a.csv', 'c.csv']);
    expect(drain.states).toContain(DRAIN_STATES.keepMessage);
    expect(world.queue.counts()).toEqual({ visible: 0, inFlight: 1 });
    expect(world.queue.bodies().map((body) => JSON.parse(body).key)).toEqual(['b.csv']);
    expect(world.table.peek(LOCK_ID)).toBeUndefined();
  });

  test(`after ${MAX_ROUNDS_PER_EXECUTION} rounds a drain lets go and starts a successor, which finishes the queue`, async () => {
    const { probe, around } = concurrencyProbe();
    const world = account((input) => around(input.key, async () => ({})));
    const total = MAX_ROUNDS_PER_EXECUTION * RECEIVE_BATCH + 25;
    for (let i = 0; i < total; i += 1) world.objectCreated(`object-${i}.csv`, false);
    const first = world.drains.start();
    await world.drains.settled();

    expect(lastState(first.states)).toBe(DRAIN_STATES.handedOff);
    expect(world.drains.runs).toHaveLength(2);
    expect(lastState(world.drains.runs[1]?.states ?? [])).toBe(DRAIN_STATES.drained);
    expect(probe.max).toBe(1);
    expect(new Set(probe.ran).size).toBe(total);
    expect(probe.ran).toHaveLength(total);
    expect(world.queue.counts()).toEqual({ visible: 0, inFlight: 0 });
    expect(world.table.peek(LOCK_ID)).toBeUndefined();
  });
});

describe('the local twins refuse what AWS refuses', () => {
  const item = (holder: string) => ({ lock_id: { S: LOCK_ID }, holder: { S: holder } });

  test('DynamoDB: conditional put, conditional delete, and the errors of a malformed request', async () => {
    const table = new LocalDynamoTable(TABLE, 'lock_id');
    await table.putItem({
      TableName: TABLE,
      Item: item('a'),
      ConditionExpression: 'attribute_not_exists(lock_id)',
    });
    await expect(
      table.putItem({
        TableName: TABLE,
        Item: item('b'),
        ConditionExpression: 'attribute_not_exists(lock_id)',
      }),
    ).rejects.toMatchObject({ name: 'DynamoDB.ConditionalCheckFailedException' });
    expect(table.peek(LOCK_ID)?.holder).toEqual({ S: 'a' });
    const key = { lock_id: { S: LOCK_ID } };
    await expect(
      table.deleteItem({
        TableName: TABLE,
        Key: key,
        ConditionExpression: 'holder = :me',
        ExpressionAttributeValues: { ':me': { S: 'b' } },
      }),
    ).rejects.toMatchObject({ name: 'DynamoDB.ConditionalCheckFailedException' });
    expect(table.peek(LOCK_ID)).toBeDefined();
    await table.deleteItem({
      TableName: TABLE,
      Key: key,
      ConditionExpression: 'holder = :me',
      ExpressionAttributeValues: { ':me': { S: 'a' } },
    });
    expect(await table.getItem({ TableName: TABLE, Key: key, ConsistentRead: true })).toEqual({});
    // A condition on an item that does not exist is false, as in DynamoDB.
    await expect(
      table.deleteItem({
        TableName: TABLE,
        Key: key,
        ConditionExpression: 'holder = :me',
        ExpressionAttributeValues: { ':me': { S: 'a' } },
      }),
    ).rejects.toMatchObject({ name: 'DynamoDB.ConditionalCheckFailedException' });

    await expect(table.getItem({ TableName: 'other', Key: key })).rejects.toMatchObject({
      name: 'DynamoDB.ResourceNotFoundException',
    });
    await expect(table.putItem({ TableName: TABLE, Item: { holder: { S: 'x' } } })).rejects.toMatchObject({
      name: 'DynamoDB.ValidationException',
    });
    await expect(
      table.deleteItem({ TableName: TABLE, Key: key, ConditionExpression: 'holder = :me' }),
    ).rejects.toMatchObject({
      name: 'DynamoDB.ValidationException',
      message: expect.stringMatching(/not defined/),
    });
    await expect(
      table.putItem({
        TableName: TABLE,
        Item: item('a'),
        ConditionExpression: 'attribute_not_exists(lock_id)',
        ExpressionAttributeValues: { ':unused': { S: 'x' } },
      }),
    ).rejects.toMatchObject({
      name: 'DynamoDB.ValidationException',
      message: expect.stringMatching(/unused/),
    });
    await expect(
      table.putItem({ TableName: TABLE, Item: { ...item('a'), blob: { S: 'x'.repeat(400 * 1024) } } }),
    ).rejects.toMatchObject({ name: 'DynamoDB.ValidationException', message: expect.stringMatching(/size/) });
    await expect(
      table.putItem({ TableName: TABLE, Item: item('a'), ConditionExpression: 'size(holder) > :n' }),
    ).rejects.toThrow(/local DynamoDB twin evaluates/);
  });

  test('SQS: receive limits, visibility, receipt handles, redrive, attributes', async () => {
    let clock = 0;
    const dlq = new LocalSqsQueue(`${QUEUE_URL}-dlq`, { visibilityTimeoutSeconds: 30, now: () => clock });
    const queue = new LocalSqsQueue(QUEUE_URL, {
      visibilityTimeoutSeconds: 30,
      maxReceiveCount: 2,
      deadLetterQueue: dlq,
      now: () => clock,
    });
    for (const [name, value] of [
      ['MaxNumberOfMessages', 11],
      ['MaxNumberOfMessages', 0],
      ['VisibilityTimeout', 43_201],
      ['WaitTimeSeconds', 21],
    ] as const) {
      await expect(queue.receiveMessage({ QueueUrl: QUEUE_URL, [name]: value })).rejects.toMatchObject({
        name: 'Sqs.InvalidParameterValueException',
        message: expect.stringContaining(name),
      });
    }
    await expect(queue.receiveMessage({ QueueUrl: `${QUEUE_URL}-x` })).rejects.toMatchObject({
      name: 'Sqs.QueueDoesNotExistException',
    });
    await expect(queue.deleteMessage({ QueueUrl: QUEUE_URL, ReceiptHandle: 'x' })).rejects.toMatchObject({
      name: 'Sqs.ReceiptHandleIsInvalidException',
    });
    await expect(
      queue.getQueueAttributes({ QueueUrl: QUEUE_URL, AttributeNames: ['NoSuchAttribute'] }),
    ).rejects.toMatchObject({ name: 'Sqs.InvalidAttributeNameException' });

    queue.sendMessage('one');
    const first = (
      await queue.receiveMessage({ QueueUrl: QUEUE_URL, MaxNumberOfMessages: 10, VisibilityTimeout: 5 })
    ).Messages?.[0];
    expect(first?.Body).toBe('one');
    expect(await queue.receiveMessage({ QueueUrl: QUEUE_URL })).toEqual({});
    expect(
      await queue.getQueueAttributes({
        QueueUrl: QUEUE_URL,
        AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
      }),
    ).toEqual({
      Attributes: { ApproximateNumberOfMessages: '0', ApproximateNumberOfMessagesNotVisible: '1' },
    });
    clock += 5_000;
    const second = (await queue.receiveMessage({ QueueUrl: QUEUE_URL, VisibilityTimeout: 5 })).Messages?.[0];
    expect(second?.MessageId).toBe(first?.MessageId);
    // The first receipt handle is stale: accepted, deletes nothing.
    await queue.deleteMessage({ QueueUrl: QUEUE_URL, ReceiptHandle: first?.ReceiptHandle ?? '' });
    expect(queue.counts()).toEqual({ visible: 0, inFlight: 1 });
    // Received twice (maxReceiveCount 2): the next receive moves it to the dead-letter queue.
    clock += 5_000;
    expect(await queue.receiveMessage({ QueueUrl: QUEUE_URL })).toEqual({});
    expect(dlq.bodies()).toEqual(['one']);
    expect(queue.bodies()).toEqual([]);
  });

  test('Step Functions: names, unknown executions, and a closed child name refused', async () => {
    const sfn = new LocalStepFunctions();
    const machine = sfn.stateMachineArn('pipeline');
    expect(() => sfn.start(machine, 'a b', {})).toThrow(
      expect.objectContaining({ name: 'StepFunctions.InvalidNameException' }),
    );
    expect(() => sfn.start(machine, 'x'.repeat(81), {})).toThrow(
      expect.objectContaining({ name: 'StepFunctions.InvalidNameException' }),
    );
    await expect(sfn.describeExecution({ ExecutionArn: `${machine}:nope` })).rejects.toMatchObject({
      name: 'Sfn.ExecutionDoesNotExistException',
    });
    const child = sfn.startExecutionSync(async (input) => ({ echoed: input }));
    const output = await child({ StateMachineArn: machine, Name: 'run-1', Input: { key: 'a.csv' } });
    expect(output).toMatchObject({ Status: 'SUCCEEDED', Output: { echoed: { key: 'a.csv' } } });
    await expect(
      child({ StateMachineArn: machine, Name: 'run-1', Input: { key: 'a.csv' } }),
    ).rejects.toMatchObject({
      name: 'StepFunctions.ExecutionAlreadyExistsException',
    });
    const failing = sfn.startExecutionSync(async () => {
      throw new TaskError('RunFailed', 'the file is empty');
    });
    await expect(failing({ StateMachineArn: machine, Name: 'run-2', Input: {} })).rejects.toMatchObject({
      name: 'States.TaskFailed',
      message: expect.stringMatching(/"Status":"FAILED".*the file is empty/),
    });
  });
});
