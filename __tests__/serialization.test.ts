import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { generateEvents } from '../cli/generate';
import { type Emulator, startEmulator } from '../emulator/moto';
import { INTERRUPTED_CAUSE } from '../handlers/run-failed/backstop';
import { createRunFailedHandler } from '../handlers/run-failed/handler';
import type { Lake } from '../local/lake';
import { LOCAL_BUCKET, LOCAL_RESOURCES, runFile } from '../local/runner';
import { StrictAthenaEngine } from '../local/strict-twin';
import { maintenanceStatement } from '../stacks/constructs/maintenance';
import { MAX_RECEIVE_COUNT } from '../stacks/constructs/serialization';
import { buildDefinition } from '../workflow/definition';
import {
  DRAIN_STATES,
  LOCK_ID,
  MAX_ROUNDS_PER_EXECUTION,
  maintenanceMessage,
} from '../workflow/drain-definition';
import { FAILED_RUN_FILE, RUN_DAYS, readSql, UNDO_STEPS } from '../workflow/steps';
import { MANAGED_TABLES } from '../workflow/tables';
import { DrainAccount } from './support/aws-twins/drain';
import { TaskError } from './support/aws-twins/errors';
import { LocalStepFunctions } from './support/aws-twins/step-functions';
import { dataExports, ingest, withLake } from './support/lake';

const PIPELINE_TIMEOUT = buildDefinition(LOCAL_RESOURCES).TimeoutSeconds;
const S = DRAIN_STATES;

let emulator: Emulator;
const accounts: DrainAccount[] = [];
beforeAll(async () => {
  emulator = await startEmulator();
});
afterAll(async () => {
  for (const opened of accounts) opened.close();
  await emulator?.stop();
});

interface PendingObject {
  readonly bucket: string;
  readonly key: string;
  readonly etag: string;
}

const pending = (key: string): PendingObject => ({ bucket: LOCAL_BUCKET, key, etag: `"${key.length}"` });

/** Completion events the run-failed Lambda sent (EventBridge PutEvents in AWS). */
type Sent = Record<string, unknown>[];

/**
 * An account whose run-failed Lambda is its real handler on the local lake (the strict twin in front of
 * DuckDB), reading executions from the account's Step Functions; `child` runs each pipeline execution.
 */
async function account(
  lake: Lake | undefined,
  child: (input: PendingObject, name: string) => Promise<unknown>,
  sent: Sent = [],
  lambda: (handler: (payload: unknown) => Promise<unknown>) => (payload: unknown) => Promise<unknown> = (h) =>
    h,
): Promise<DrainAccount> {
  let world: DrainAccount | undefined;
  const handler = createRunFailedHandler(() => {
    if (!lake) throw new Error('this test has no lake for the run-failed Lambda');
    return {
      engine: new StrictAthenaEngine(lake),
      recordSql: readSql(FAILED_RUN_FILE),
      undoSql: { runDays: readSql(RUN_DAYS.file), steps: UNDO_STEPS.map((step) => readSql(step.file)) },
      describe: async (arn) => {
        const described = await (world as DrainAccount).stepFunctions.describeExecution({
          ExecutionArn: arn,
        });
        return {
          input: described.Input,
          startDate: new Date(described.StartDate),
          status: described.Status,
          error: described.Error,
          cause: described.Cause,
        };
      },
      putEvent: async (detail) => {
        sent.push(detail);
      },
    };
  });
  world = await DrainAccount.create(emulator, {
    pipelineTimeoutSeconds: PIPELINE_TIMEOUT,
    runPipeline: (input, name) => child(input as PendingObject, name),
    runFailed: lambda(handler),
  });
  accounts.push(world);
  return world;
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
 * The child pipeline: the bronze object (held in `objects`) written to a file named by its key, then the
 * real pipeline state machine on the local lake, named as the drain named the child. A FAILED run fails
 * the child execution; `interrupt` (by key) stops it as its timeout would, at that state.
 */
function localPipeline(
  lake: Lake,
  dir: string,
  objects: Map<string, string>,
  interrupt: Record<string, string> = {},
) {
  let runs = 0;
  return async (input: PendingObject, name: string) => {
    const content = objects.get(input.key);
    if (content === undefined) throw new TaskError('S3.NoSuchKey', `no object ${input.key}`);
    runs += 1;
    const inbox = join(dir, `object-${runs}`);
    mkdirSync(inbox, { recursive: true });
    const file = join(inbox, input.key);
    writeFileSync(file, content);
    const interruptAt = interrupt[input.key];
    if (interruptAt) {
      await runFile(lake, file, { key: input.key, runId: name, interruptAt }).catch(() => undefined);
      throw new TaskError('States.Timeout', `the execution timed out in ${interruptAt}`);
    }
    const run = await runFile(lake, file, { key: input.key, runId: name });
    if (run.status === 'FAILED') throw new TaskError('RunFailed', run.error ?? 'failed');
    return { runId: run.runId, status: run.status };
  };
}

/** Exports of the same objects run one after another by `agent-etl run`, in a lake of their own. */
async function cleanRun(objects: Map<string, string>, keys: readonly string[]) {
  return withLake(async (sequential, seqDir) => {
    const files = keys.map((key) => {
      const file = join(seqDir, key);
      writeFileSync(file, objects.get(key) ?? '');
      return file;
    });
    await ingest(sequential, ...files);
    return dataExports(sequential);
  });
}

async function runRows(lake: Lake) {
  return lake.query(
    'select run_id, source_object, status, error from pipeline_runs order by started_at, source_object',
  );
}

const lastState = (states: readonly string[]) => states.at(-1);

describe('serialized runs: concurrent drains of the real drain definition, lock and queue in moto', () => {
  test('a burst of objects with a drain each: one child at a time, each object once, the queue empty, exports equal sequential runs', async () => {
    await withLake(async (lake, dir) => {
      const objects = generatedFiles(dir, 5);
      const keys = [...objects.keys()];
      const { probe, around } = concurrencyProbe();
      const pipeline = localPipeline(lake, dir, objects);
      const world = await account(lake, (input, name) => around(input.key, () => pipeline(input, name)));
      const late = 'late.csv';
      objects.set(late, objects.get('part-0.csv')?.replaceAll('2024', '2025') ?? '');

      // The race the re-check closes: an object lands (and its drain runs to the end) after the holder's
      // last empty receive, before the holder lets go of the lock.
      const receive = world.hooks.receive;
      let lateDrain: Promise<string> | undefined;
      world.hooks.receive = async (input) => {
        const answer = (await receive(input)) as { Messages?: unknown[] };
        if (!answer.Messages && !lateDrain) {
          lateDrain = (await world.objectCreated(pending(late)))?.result;
          await lateDrain;
        }
        return answer;
      };
      for (const key of keys) await world.objectCreated(pending(key));
      await world.settled();

      expect(probe.max).toBe(1);
      expect([...probe.ran].sort()).toEqual([...keys, late].sort());
      const runs = world.runs;
      expect(await Promise.all(runs.map((run) => run.result))).toEqual(runs.map(() => 'SUCCEEDED'));
      const endings = runs.map((run) => lastState(run.states));
      expect(endings.filter((state) => state === S.drained)).toHaveLength(1);
      expect(endings.filter((state) => state === S.anotherHolds)).toHaveLength(runs.length - 1);
      // The holder let go, saw the late object in the queue, took the lock again and ran it.
      const holder = runs.find((run) => lastState(run.states) === S.drained);
      const afterRecheck = holder?.states.slice(holder.states.indexOf(S.recheck) + 1);
      expect(afterRecheck?.slice(0, 2)).toEqual([S.arrived, S.acquire]);
      expect(await world.counts()).toEqual({ visible: 0, inFlight: 0 });
      expect(await world.deadLetters()).toEqual([]);
      expect(await world.lock()).toBeUndefined();
      const children = world.stepFunctions.executionsOf(world.pipelineArn);
      expect(children.map((child) => child.Status)).toEqual(children.map(() => 'SUCCEEDED'));
      expect(children).toHaveLength(keys.length + 1);
      const audit = await runRows(lake);
      expect(audit.map((row) => row.status)).toEqual(audit.map(() => 'SUCCEEDED'));
      expect(audit.map((row) => row.run_id).sort()).toEqual(children.map((child) => child.Name).sort());

      expect(await dataExports(lake)).toEqual(await cleanRun(objects, probe.ran));
    });
  });

  test('a lock whose holder died is taken over; the message it hid comes back and runs once (the sweep finds it)', async () => {
    const ran: string[] = [];
    const world = await account(undefined, async (input) => {
      ran.push(input.key);
      return {};
    });
    const dead = world.stepFunctions.start(world.drainArn, 'dead-drain', {});
    world.stepFunctions.finish(dead, 'FAILED', { error: 'States.Runtime', cause: 'killed' });
    await world.dynamodb.send(
      new (await import('@aws-sdk/client-dynamodb')).PutItemCommand({
        TableName: world.tableName,
        Item: { lock_id: { S: LOCK_ID }, holder: { S: dead }, started_at: { S: '2026-01-01T00:00:00Z' } },
      }),
    );
    for (const key of ['a.csv', 'b.csv']) await world.objectCreated(pending(key), false);
    // The dead drain had received one message (one at a time); it stays hidden for its visibility
    // timeout (here 1 s standing for the drain's one child timeout).
    const hidden = await world.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: world.queueUrl, MaxNumberOfMessages: 1, VisibilityTimeout: 1 }),
    );
    const hiddenKey = JSON.parse(hidden.Messages?.[0]?.Body ?? '{}').key;

    const first = world.start();
    await world.settled();
    expect(first.states).toContain(S.takeOver);
    expect(ran).toEqual(['a.csv', 'b.csv'].filter((key) => key !== hiddenKey));
    expect(await world.counts()).toEqual({ visible: 0, inFlight: 1 });

    // No upload follows: the sweep's next drain finds the stranded message once it is visible again.
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    const sweep = world.start();
    await world.settled();
    expect(await sweep.result).toBe('SUCCEEDED');
    expect(ran.sort()).toEqual(['a.csv', 'b.csv']);
    expect(await world.counts()).toEqual({ visible: 0, inFlight: 0 });
    expect(await world.lock()).toBeUndefined();
  });

  test('a lock whose holder is running is left alone, and the drain ends without touching the queue', async () => {
    const ran: string[] = [];
    const world = await account(undefined, async (input) => {
      ran.push(input.key);
      return {};
    });
    const holder = world.stepFunctions.start(world.drainArn, 'live-drain', {});
    const lock = {
      lock_id: { S: LOCK_ID },
      holder: { S: holder },
      started_at: { S: '2026-01-01T00:00:00Z' },
    };
    const { PutItemCommand } = await import('@aws-sdk/client-dynamodb');
    await world.dynamodb.send(new PutItemCommand({ TableName: world.tableName, Item: lock }));
    const drain = await world.objectCreated(pending('a.csv'));
    expect(await drain?.result).toBe('SUCCEEDED');
    expect(drain?.states).toEqual([
      S.init,
      S.acquire,
      S.readLock,
      S.lockPresent,
      S.describeHolder,
      S.holderAlive,
      S.anotherHolds,
    ]);
    expect(ran).toEqual([]);
    expect(await world.counts()).toEqual({ visible: 1, inFlight: 0 });
    expect(await world.lock()).toEqual(lock);
  });

  test('a failing child does not stop the drain: its FAILED run is recorded, the rest run, the lock is released', async () => {
    await withLake(async (lake, dir) => {
      const objects = generatedFiles(dir, 2);
      objects.set('empty.csv', '');
      const { probe, around } = concurrencyProbe();
      const pipeline = localPipeline(lake, dir, objects);
      const world = await account(lake, (input, name) => around(input.key, () => pipeline(input, name)));
      for (const key of ['part-0.csv', 'empty.csv', 'part-1.csv']) await world.objectCreated(pending(key));
      await world.settled();

      expect(await Promise.all(world.runs.map((run) => run.result))).toEqual(
        world.runs.map(() => 'SUCCEEDED'),
      );
      expect(probe.max).toBe(1);
      expect(probe.ran).toEqual(['part-0.csv', 'empty.csv', 'part-1.csv']);
      const children = world.stepFunctions.executionsOf(world.pipelineArn);
      expect(children.map((child) => child.Status)).toEqual(['SUCCEEDED', 'FAILED', 'SUCCEEDED']);
      expect(children[1]?.Cause).toMatch(/empty/i);
      // The failed child is undone again under the lock (idempotent), before the next message.
      const holder = world.runs.find((run) => lastState(run.states) === S.drained);
      expect(holder?.states.filter((state) => state === S.undoChild)).toHaveLength(1);
      const runs = await runRows(lake);
      expect(runs.map((run) => `${run.source_object} ${run.status}`)).toEqual([
        'bronze/part-0.csv SUCCEEDED',
        'bronze/empty.csv FAILED',
        'bronze/part-1.csv SUCCEEDED',
      ]);
      expect(String(runs[1]?.error)).toMatch(/empty/i);
      expect(await world.counts()).toEqual({ visible: 0, inFlight: 0 });
      expect(await world.lock()).toBeUndefined();
      expect(await dataExports(lake)).toEqual(await cleanRun(objects, ['part-0.csv', 'part-1.csv']));
    });
  });

  test("the drain's own failure releases the lock and fails; the message is not lost", async () => {
    const world = await account(undefined, async () => ({}));
    world.hooks.deleteMessage = async () => {
      throw new TaskError('Sqs.SqsException', 'Service unavailable');
    };
    await world.objectCreated(pending('a.csv'), false);
    const drain = world.start();
    expect(await drain.result).toBe('FAILED');
    expect(drain.states.slice(-2)).toEqual([S.releaseAfterFailure, S.failed]);
    expect(world.stepFunctions.status(drain.executionArn)).toBe('FAILED');
    expect(await world.lock()).toBeUndefined();
    expect(await world.counts()).toEqual({ visible: 0, inFlight: 1 });
  });

  test('a message received again after its run ended is deleted without a second run', async () => {
    const ran: string[] = [];
    const world = await account(undefined, async (input) => {
      ran.push(input.key);
      return {};
    });
    await world.objectCreated(pending('a.csv'), false);
    // A drain that ran this message's child to the end and died before DeleteMessage.
    const [message] =
      (
        await world.sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: world.queueUrl,
            MaxNumberOfMessages: 1,
            VisibilityTimeout: 1,
          }),
        )
      ).Messages ?? [];
    const child = world.stepFunctions.start(
      world.pipelineArn,
      message?.MessageId ?? '',
      JSON.parse(message?.Body ?? '{}'),
    );
    world.stepFunctions.finish(child, 'SUCCEEDED', { output: {} });
    await new Promise((resolve) => setTimeout(resolve, 1_100));

    const drain = world.start();
    expect(await drain.result).toBe('SUCCEEDED');
    expect(drain.states).toEqual(expect.arrayContaining([S.runPipeline, S.describeChild, S.deleteMessage]));
    expect(ran).toEqual([]);
    expect(world.stepFunctions.executionsOf(world.pipelineArn)).toHaveLength(1);
    expect(await world.counts()).toEqual({ visible: 0, inFlight: 0 });
  });

  test(`after ${MAX_ROUNDS_PER_EXECUTION} rounds a drain lets go and starts a successor, which finishes the queue`, async () => {
    const { probe, around } = concurrencyProbe();
    const world = await account(undefined, (input) => around(input.key, async () => ({})));
    const total = MAX_ROUNDS_PER_EXECUTION + 5;
    for (let i = 0; i < total; i += 1) await world.objectCreated(pending(`object-${i}.csv`), false);
    const first = world.start();
    await world.settled();

    expect(lastState(first.states)).toBe(S.handedOff);
    expect(world.runs).toHaveLength(2);
    expect(lastState(world.runs[1]?.states ?? [])).toBe(S.drained);
    expect(probe.max).toBe(1);
    expect(new Set(probe.ran).size).toBe(total);
    expect(probe.ran).toHaveLength(total);
    expect(await world.counts()).toEqual({ visible: 0, inFlight: 0 });
    expect(await world.lock()).toBeUndefined();
  }, 120_000);
});

describe('drills: every failure path through the drain leaves no object lost and gold as a clean run', () => {
  test('a start error outside the retried ones (AccessDenied): the message is kept, recorded, alerted, and after 3 receives waits in the dead-letter queue', async () => {
    await withLake(async (lake, dir) => {
      const objects = generatedFiles(dir, 3);
      const sent: Sent = [];
      const pipeline = localPipeline(lake, dir, objects);
      const world = await account(lake, pipeline, sent);
      const startChild = world.hooks.startChild;
      world.hooks.startChild = async (input) => {
        if ((input.Input as PendingObject).key === 'part-1.csv') {
          throw new TaskError(
            'StepFunctions.AccessDeniedException',
            'not authorized to perform states:StartExecution',
          );
        }
        return startChild(input);
      };
      // Time compressed: the drain's one-child-timeout visibility stands as 1 s here.
      const receive = world.hooks.receive;
      world.hooks.receive = (input) => receive({ ...input, VisibilityTimeout: 1 });
      for (const key of objects.keys()) await world.objectCreated(pending(key), false);

      const drain = world.start();
      expect(await drain.result).toBe('SUCCEEDED');
      expect(drain.states).toEqual(expect.arrayContaining([S.recordNotStarted, S.keepMessage]));
      // The object was neither run nor dropped: its message is in flight, its attempt recorded and alerted.
      const children = world.stepFunctions.executionsOf(world.pipelineArn);
      expect(children.map((child) => (JSON.parse(child.Input) as PendingObject).key)).toEqual([
        'part-0.csv',
        'part-2.csv',
      ]);
      const rows = await runRows(lake);
      const notStarted = rows.filter((row) => String(row.run_id).includes('-not-started-'));
      expect(notStarted.map((row) => `${row.source_object} ${row.status}`)).toEqual([
        'bronze/part-1.csv FAILED',
      ]);
      expect(String(notStarted[0]?.error)).toMatch(
        /RunPipeline: StepFunctions.AccessDeniedException: not authorized/,
      );
      expect(sent).toEqual([
        expect.objectContaining({
          status: 'FAILED',
          key: 'part-1.csv',
          error: 'StepFunctions.AccessDeniedException',
          execution_arn: drain.executionArn,
        }),
      ]);
      expect((await world.counts()).visible + (await world.counts()).inFlight).toBe(1);

      // Every later drain meets the same refusal; the redrive policy moves it on the receive after the last.
      for (let attempt = 1; attempt <= MAX_RECEIVE_COUNT; attempt += 1) {
        await new Promise((resolve) => setTimeout(resolve, 1_100));
        expect(await world.start().result).toBe('SUCCEEDED');
      }
      expect(await world.counts()).toEqual({ visible: 0, inFlight: 0 });
      expect((await world.deadLetters()).map((body) => JSON.parse(body).key)).toEqual(['part-1.csv']);
      expect(sent).toHaveLength(MAX_RECEIVE_COUNT);
      expect(await world.lock()).toBeUndefined();
      expect(await dataExports(lake)).toEqual(await cleanRun(objects, ['part-0.csv', 'part-2.csv']));
    });
  });

  test('a child that times out half-merged is undone under the lock before the next message; its row FAILED as interrupted', async () => {
    await withLake(async (lake, dir) => {
      const objects = generatedFiles(dir, 3);
      const { probe, around } = concurrencyProbe();
      // part-1 stops after MergeIntervals committed: gold holds its intervals, nothing undid them.
      const pipeline = localPipeline(lake, dir, objects, { 'part-1.csv': 'MergeWeeklySummary' });
      const world = await account(lake, (input, name) => around(input.key, () => pipeline(input, name)));
      const halfMerged: unknown[] = [];
      const startChild = world.hooks.startChild;
      world.hooks.startChild = async (input) => {
        if ((input.Input as PendingObject).key === 'part-2.csv') {
          halfMerged.push(
            ...(await lake.query("select run_id, status from pipeline_runs where status = 'RUNNING'")),
          );
        }
        return startChild(input);
      };
      for (const key of objects.keys()) await world.objectCreated(pending(key), false);
      const drain = world.start();
      expect(await drain.result).toBe('SUCCEEDED');

      const children = world.stepFunctions.executionsOf(world.pipelineArn);
      expect(children.map((child) => child.Status)).toEqual(['SUCCEEDED', 'TIMED_OUT', 'SUCCEEDED']);
      // By the time the next child started, the interrupted run was closed (no RUNNING row left).
      expect(halfMerged).toEqual([]);
      const undo = drain.states.indexOf(S.undoChild);
      expect(undo).toBeGreaterThan(drain.states.indexOf(S.describeChild));
      expect(drain.states.slice(undo + 1, undo + 3)).toEqual([S.deleteMessage, S.nextRound]);
      const rows = await runRows(lake);
      expect(rows.map((row) => `${row.source_object} ${row.status}`)).toEqual([
        'bronze/part-0.csv SUCCEEDED',
        'bronze/part-1.csv FAILED',
        'bronze/part-2.csv SUCCEEDED',
      ]);
      expect(String(rows[1]?.error)).toContain('Interrupted (execution TIMED_OUT)');
      expect(String(rows[1]?.error)).toContain(INTERRUPTED_CAUSE);
      expect(probe.max).toBe(1);
      expect(await world.counts()).toEqual({ visible: 0, inFlight: 0 });
      expect(await world.lock()).toBeUndefined();
      expect(await dataExports(lake)).toEqual(await cleanRun(objects, ['part-0.csv', 'part-2.csv']));
    });
  });

  test('ten failing children with 30 KB causes leave the drain healthy (state data stays far under 256 KiB)', async () => {
    await withLake(async (lake) => {
      const world = await account(lake, async (input) => {
        throw new TaskError('RunFailed', `${input.key}: ${'x'.repeat(30_000)}`);
      });
      for (let i = 0; i < 10; i += 1) await world.objectCreated(pending(`bad-${i}.csv`), false);
      const drain = world.start();
      expect(await drain.result).toBe('SUCCEEDED');
      expect(drain.error).toBeUndefined();
      const children = world.stepFunctions.executionsOf(world.pipelineArn);
      expect(children.map((child) => child.Status)).toEqual(children.map(() => 'FAILED'));
      expect(children).toHaveLength(10);
      expect(drain.states.filter((state) => state === S.undoChild)).toHaveLength(10);
      const rows = await runRows(lake);
      expect(rows.map((row) => row.status)).toEqual(rows.map(() => 'FAILED'));
      expect(rows).toHaveLength(10);
      expect(await world.counts()).toEqual({ visible: 0, inFlight: 0 });
      expect(await world.lock()).toBeUndefined();
    });
  });

  test('an undo that fails stops the drain (lock released, message kept) and is tried again on redelivery', async () => {
    await withLake(async (lake, dir) => {
      const objects = generatedFiles(dir, 2);
      const pipeline = localPipeline(lake, dir, objects, { 'part-0.csv': 'MergeWeeklySummary' });
      let failUndo = true;
      const world = await account(lake, pipeline, [], (handler) => async (payload) => {
        if (failUndo && typeof payload === 'object' && payload !== null && 'repair' in payload) {
          throw Object.assign(new Error('Task timed out after 900.00 seconds'), { name: 'Sandbox.Timedout' });
        }
        return handler(payload);
      });
      const receive = world.hooks.receive;
      world.hooks.receive = (input) => receive({ ...input, VisibilityTimeout: 1 });
      await world.objectCreated(pending('part-0.csv'), false);
      const first = world.start();
      expect(await first.result).toBe('FAILED');
      expect(first.states.slice(-3)).toEqual([S.undoChild, S.releaseAfterFailure, S.failed]);
      expect(await world.lock()).toBeUndefined();
      expect(await world.counts()).toEqual({ visible: 0, inFlight: 1 });

      failUndo = false;
      await world.objectCreated(pending('part-1.csv'), false);
      await new Promise((resolve) => setTimeout(resolve, 1_100));
      const second = world.start();
      expect(await second.result).toBe('SUCCEEDED');
      // The redelivered message meets ExecutionAlreadyExists, the ended child is undone, then part-1 runs.
      expect(world.stepFunctions.executionsOf(world.pipelineArn).map((child) => child.Status)).toEqual([
        'TIMED_OUT',
        'SUCCEEDED',
      ]);
      expect(await world.counts()).toEqual({ visible: 0, inFlight: 0 });
      expect(await dataExports(lake)).toEqual(await cleanRun(objects, ['part-1.csv']));
    });
  });
});

describe('drills: a completion event that fails', () => {
  test('through the drain: the run stays SUCCEEDED and counts, the message is deleted, the alert goes out, the next object runs', async () => {
    await withLake(async (lake, dir) => {
      const objects = generatedFiles(dir, 2);
      const pipeline = localPipeline(lake, dir, objects);
      const world = await account(lake, async (input, name) => {
        if (input.key !== 'part-0.csv') return pipeline(input, name);
        process.env.AGENT_ETL_FAULT = 'EmitRunSucceeded:before';
        try {
          return await pipeline(input, name);
        } finally {
          delete process.env.AGENT_ETL_FAULT;
        }
      });
      for (const key of objects.keys()) await world.objectCreated(pending(key), false);
      const drain = world.start();
      expect(await drain.result).toBe('SUCCEEDED');
      const children = world.stepFunctions.executionsOf(world.pipelineArn);
      expect(children.map((child) => child.Status)).toEqual(['SUCCEEDED', 'SUCCEEDED']);
      expect(drain.states).not.toContain(S.undoChild);
      const rows = await runRows(lake);
      expect(rows.map((row) => row.status)).toEqual(['SUCCEEDED', 'SUCCEEDED']);
      const alerts = readFileSync(join(lake.paths.outbox, 'notifications.jsonl'), 'utf8').trim().split('\n');
      expect(alerts.map((line) => JSON.parse(line).attributes)).toEqual([
        { kind: 'completion-event-failed' },
      ]);
      expect(await world.counts()).toEqual({ visible: 0, inFlight: 0 });
      expect(await world.lock()).toBeUndefined();
      expect(await dataExports(lake)).toEqual(await cleanRun(objects, ['part-0.csv', 'part-1.csv']));
    });
  });
});

describe('drills: table maintenance runs under the lock', () => {
  test('maintenance queued during a run waits for the lock: every statement runs between two children, never during one', async () => {
    await withLake(async (lake, dir) => {
      const objects = generatedFiles(dir, 2);
      const { probe, around } = concurrencyProbe();
      const pipeline = localPipeline(lake, dir, objects);
      const order: string[] = [];
      let world: DrainAccount | undefined;
      let sweep: Promise<string> | undefined;
      let running = 0;
      world = await account(lake, (input, name) =>
        around(input.key, async () => {
          running += 1;
          if (input.key === 'part-0.csv') {
            // The schedule fires while this run holds the lock; the sweep's drain finds it held and ends.
            await world?.objectCreated(maintenanceMessage('optimize'), false);
            sweep = world?.start().result;
            await sweep;
          }
          order.push(`run ${input.key}`);
          return pipeline(input, name).finally(() => {
            running -= 1;
          });
        }),
      );
      const active: number[] = [];
      world.hooks.athena = async (input) => {
        active.push(running);
        order.push(input.QueryString);
        return { QueryExecution: { Status: { State: 'SUCCEEDED' } } };
      };
      await world.objectCreated(pending('part-0.csv'), false);
      await world.objectCreated(pending('part-1.csv'), false);
      const drain = world.start();
      expect(await drain.result).toBe('SUCCEEDED');
      expect(await sweep).toBe('SUCCEEDED');
      expect(lastState(world.runs[1]?.states ?? [])).toBe(S.anotherHolds);

      const statements = MANAGED_TABLES.map((table) => maintenanceStatement('optimize', table));
      const first = order.indexOf(statements[0] ?? '');
      expect(order.slice(first, first + statements.length)).toEqual(statements);
      expect(order.indexOf('run part-0.csv')).toBeLessThan(first);
      // No child was between its start and its end while a statement ran.
      expect(active).toEqual(statements.map(() => 0));
      expect(probe.max).toBe(1);
      expect(await world.counts()).toEqual({ visible: 0, inFlight: 0 });
      expect(await world.lock()).toBeUndefined();
      expect(world.published).toEqual([]);
      expect(await dataExports(lake)).toEqual(await cleanRun(objects, ['part-0.csv', 'part-1.csv']));
    });
  });

  test('a failed VACUUM alerts on the topic, its message is deleted (the next schedule repeats it), the drain carries on', async () => {
    const ran: string[] = [];
    const world = await account(undefined, async (input) => {
      ran.push(input.key);
      return {};
    });
    const queries: string[] = [];
    world.hooks.athena = async (input) => {
      queries.push(input.QueryString);
      throw new TaskError('States.TaskFailed', 'ICEBERG_COMMIT_ERROR: the table changed');
    };
    await world.objectCreated(maintenanceMessage('vacuum'), false);
    await world.objectCreated(pending('a.csv'), false);
    const drain = world.start();
    expect(await drain.result).toBe('SUCCEEDED');
    // Retried twice (Athena's transient failures), then reported; the later tables wait for next time.
    const first = maintenanceStatement('vacuum', MANAGED_TABLES[0] as (typeof MANAGED_TABLES)[number]);
    expect(queries).toEqual([first, first, first]);
    expect(world.published).toEqual([
      expect.objectContaining({
        TopicArn: world.alertTopicArn,
        MessageAttributes: { kind: { DataType: 'String', StringValue: 'maintenance-failed' } },
        Message: expect.stringContaining(
          'vacuum) failed and waits for its next schedule: States.TaskFailed: ICEBERG_COMMIT_ERROR',
        ),
      }),
    ]);
    expect(ran).toEqual(['a.csv']);
    expect(await world.counts()).toEqual({ visible: 0, inFlight: 0 });
    expect(await world.lock()).toBeUndefined();
  });
});

describe('the Step Functions child twin', () => {
  test('names, unknown executions, a closed child name refused, timeouts reported as TIMED_OUT', async () => {
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
    ).rejects.toMatchObject({ name: 'StepFunctions.ExecutionAlreadyExistsException' });
    const failing = sfn.startExecutionSync(async () => {
      throw new TaskError('RunFailed', 'the file is empty');
    });
    await expect(failing({ StateMachineArn: machine, Name: 'run-2', Input: {} })).rejects.toMatchObject({
      name: 'States.TaskFailed',
      message: expect.stringMatching(/"Status":"FAILED".*the file is empty/),
    });
    const late = sfn.startExecutionSync(async () => {
      throw new TaskError('States.Timeout', 'late');
    });
    await expect(late({ StateMachineArn: machine, Name: 'run-3', Input: {} })).rejects.toMatchObject({
      message: expect.stringContaining('"Status":"TIMED_OUT"'),
    });
  });
});
