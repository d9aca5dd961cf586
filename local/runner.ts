import { createHash, randomBytes, randomUUID } from 'node:crypto';
import {
  appendFileSync,
  createReadStream,
  createWriteStream,
  existsSync,
  mkdirSync,
  realpathSync,
  renameSync,
  rmSync,
} from 'node:fs';
import { dirname, join, resolve, sep } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { CompletionDetail } from '../handlers/check-summary/events';
import {
  type EndedExecution,
  handleEndedExecution,
  type UndoSql,
  undoRun,
} from '../handlers/run-failed/backstop';
import { caughtFailure } from '../handlers/run-failed/events';
import { recordFailedRun } from '../handlers/run-failed/record';
import {
  ALERT_EVENT_FAILED_STATE,
  type AslDefinition,
  buildDefinition,
  CHECK_WITHOUT_EVENT_STATE,
  COMPLETION_EVENT,
  EMIT_SUCCEEDED_STATE,
  GLUE_JOB_ARGUMENTS,
  LOAD_STATE,
  RECORD_FAILED_STATE,
  undoState,
  type WorkflowResources,
} from '../workflow/definition';
import {
  FAILED_RUN_FILE,
  GET_OBJECT_DAYS_STATE,
  GET_RUN_DAYS_STATE,
  OBJECT_DAYS,
  PIPELINE_STEPS,
  RUN_DAYS,
  readSql,
  START_STEP,
  UNDO_STEPS,
} from '../workflow/steps';
import type { Lake } from './lake';
import { loadBronzeObject } from './loader';
import { ExecutionError, StateMachine, type StateMachineDefinition } from './step-functions';
import {
  athenaResultSet,
  checkPutEvents,
  checkStartJobRun,
  type PutEventsEntry,
  StrictAthenaEngine,
} from './strict-twin';

/** What the local "account" calls its resources; only names, nothing is looked up. */
export const LOCAL_RESOURCES: WorkflowResources = {
  glueJobName: 'local-loader',
  athenaWorkGroup: 'local-duckdb',
  glueDatabase: 'lake',
  eventBusName: 'local',
  runFailedFunctionArn: 'local-run-failed',
  checkSummaryFunctionArn: 'local-check-summary',
  alertTopicArn: 'local-alerts',
};

export const LOCAL_BUCKET = 'bronze';

/** An S3 object key is at most 1,024 bytes of UTF-8 (https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-keys.html). */
const MAX_KEY_BYTES = 1024;

export interface RunOptions {
  /** Each state as the execution enters it (for progress). */
  readonly onState?: (state: string) => void;
  /** The object key in bronze; by default the file's absolute path (see `objectKeyFor`). */
  readonly key?: string;
  /**
   * Withdraw the object instead of loading it: a run that loads no rows (for an object whose bronze copy
   * is lost), so that none of the object's rows count any more and its windows are recomputed without it.
   */
  readonly withdraw?: boolean;
  /** The execution's name (the run id); by default a fresh `local-<time>-<random>`. The drain names its
   * children by message id. */
  readonly runId?: string;
  /** Drills: the execution stops as it enters this Task state, as a timeout or an abort stops it in AWS:
   * no Catch, no undo, no backstop; `runFile` then rejects with ExecutionAbortedError. */
  readonly interruptAt?: string;
}

export interface FileRun {
  readonly file: string;
  readonly runId: string;
  readonly sourceObject: string;
  readonly status: 'SUCCEEDED' | 'FAILED';
  readonly error?: string;
  /** The completion event the run sent, as EventBridge hands it to check-summary. */
  readonly completion?: CompletionDetail;
}

let cachedDefinition: AslDefinition | undefined;
function definition(): AslDefinition {
  cachedDefinition ??= buildDefinition(LOCAL_RESOURCES);
  return cachedDefinition;
}

/**
 * AWS runs a Task state without TimeoutSeconds for up to 99,999,999 s (Amazon States Language, "Task
 * workflow state": the default TimeoutSeconds); aws-local-stepfunctions stops it after 60 s, which a
 * 5M-event statement on a busy machine outlives. Locally such a Task gets the execution's timeout: no task
 * outlives its execution, and Node's timers end at 2^31-1 ms, short of the AWS default.
 */
export function localDefinition(aws: AslDefinition): AslDefinition {
  const states = Object.entries(aws.States).map(([name, state]) => [
    name,
    state.Type === 'Task' && state.TimeoutSeconds === undefined
      ? { ...state, TimeoutSeconds: aws.TimeoutSeconds }
      : state,
  ]);
  return { ...aws, States: Object.fromEntries(states) };
}

let cachedMachine: StateMachine | undefined;
/**
 * One machine per process. Validation is skipped here because the definition is our own and
 * __tests__/workflow.test.ts validates it; validating costs about 0.25 s per construction.
 */
function stateMachine(): StateMachine {
  cachedMachine ??= new StateMachine(localDefinition(definition()) as unknown as StateMachineDefinition, {
    validationOptions: { noValidate: true },
  });
  return cachedMachine;
}

/** States of the successful path, in order, as the definition chains them: what a progress bar counts. */
export function successPath(): string[] {
  const states = definition().States;
  const path: string[] = [];
  let name: unknown = definition().StartAt;
  while (typeof name === 'string' && !path.includes(name)) {
    path.push(name);
    if (name === EMIT_SUCCEEDED_STATE) break;
    name = states[name]?.Next;
  }
  return path;
}

/** The undo statements as the local engine runs them: the run's days, then UNDO_STEPS. */
function undoSql(): UndoSql {
  return { runDays: readSql(RUN_DAYS.file), steps: UNDO_STEPS.map((step) => readSql(step.file)) };
}

function newRunId(now: Date): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('.', '').replace('Z', '');
  return `local-${stamp}-${randomBytes(3).toString('hex')}`;
}

/**
 * The bronze key of a file: its absolute path without the leading slash, so that two files never share
 * an object (daily exports with a fixed name in dated folders) and running the same path again replaces
 * its earlier version, as uploading to the same S3 key does. Every character of every name is kept as
 * it is (`in/a\\b.csv` stays `in/a\\b.csv`, never the folder `in/a/b.csv`): S3 takes any UTF-8 in a key
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-keys.html), and the local state
 * machine keeps backslashes in intrinsic values as AWS does (local/step-functions.ts). Only the
 * platform's separator becomes `/` (on Windows, where no name holds a `/`).
 */
export function objectKeyFor(file: string): string {
  return realpathSync(resolve(file)).split(sep).join('/').replace(/^\/+/, '');
}

/** Why a key cannot name a bronze object, or undefined when it can. */
export function keyProblem(key: string): string | undefined {
  const bytes = Buffer.byteLength(key);
  if (bytes === 0) return 'the object key is empty';
  if (bytes > MAX_KEY_BYTES) {
    return `its object key is ${bytes.toLocaleString('en-US')} bytes, over S3's limit of ${MAX_KEY_BYTES.toLocaleString('en-US')} bytes (UTF-8); move the file to a shorter path or name it with --key`;
  }
  if (key.startsWith('/') || key.split('/').some((s) => s === '' || s === '.' || s === '..')) {
    return `object key ${JSON.stringify(key)} has an empty, . or .. segment; keys are relative paths`;
  }
  return undefined;
}

/** A file that cannot become a bronze object: no run was due, so it has no row in pipeline_runs. */
export class ObjectKeyError extends Error {
  override readonly name = 'ObjectKeyError';
}

function checkKey(key: string): void {
  const problem = keyProblem(key);
  if (problem) throw new ObjectKeyError(problem);
}

/** The ETag S3 gives an object uploaded in one part: the MD5 of its bytes, read as a stream. */
export async function fileEtag(file: string): Promise<string> {
  const hash = createHash('md5');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** What a FAILED row names when the file could not be copied into bronze (no state had started). */
export const LAND_STATE = 'CopyToBronze';

/**
 * Copies the file into bronze under its key, so later edits of the original change nothing ingested,
 * and returns the object's ETag (the MD5 of the bytes written), hashed as the copy is written: one read
 * of the file instead of a copy and then a read (0.37 s against 0.47 s for 183 MiB).
 * The copy is made beside bronze, then renamed into place (atomic): a copy that fails part-way (a full
 * disk) leaves the object's earlier version as it was.
 */
async function landInBronze(lake: Lake, file: string, key: string): Promise<string> {
  const target = join(lake.paths.bronze, key);
  if (existsSync(target) && realpathSync(target) === realpathSync(file)) return fileEtag(target);
  mkdirSync(dirname(target), { recursive: true });
  const partial = join(lake.paths.root, `.landing-${randomBytes(6).toString('hex')}`);
  try {
    const hash = createHash('md5');
    await pipeline(
      createReadStream(file, { highWaterMark: 1 << 20 }),
      new Transform({
        transform(chunk: Buffer, _encoding, done) {
          hash.update(chunk);
          done(null, chunk);
        },
      }),
      createWriteStream(partial, { flags: 'wx' }),
    );
    renameSync(partial, target);
    return hash.digest('hex');
  } finally {
    rmSync(partial, { force: true });
  }
}

type TaskHandler = (input: unknown) => Promise<unknown>;

/**
 * Fault drills: AGENT_ETL_FAULT=<State>:before|after makes that state's local task fail before it does
 * its work, or after it committed (the "answer lost" case), to show what a run does with each failure.
 * <State>:kill ends the process with SIGKILL once the state's work is committed: a run killed there
 * (Ctrl-C, an out-of-memory kill, a lost machine) records nothing more, not even its failure.
 */
export type FaultMoment = 'before' | 'after' | 'kill';

export function faultFor(env: NodeJS.ProcessEnv): { state: string; moment: FaultMoment } | undefined {
  const value = env.AGENT_ETL_FAULT;
  if (!value) return undefined;
  const match = /^([A-Za-z]+):(before|after|kill)$/.exec(value);
  if (!match?.[1] || !match[2] || !(match[1] in definition().States)) {
    throw new Error(
      `AGENT_ETL_FAULT must be <State>:before, <State>:after or <State>:kill with a state of the pipeline, got ${JSON.stringify(value)}`,
    );
  }
  return { state: match[1], moment: match[2] as FaultMoment };
}

function withFault(state: string, handler: TaskHandler): TaskHandler {
  const fault = faultFor(process.env);
  if (fault?.state !== state) return handler;
  const fail = () => {
    throw Object.assign(new Error(`fault injected ${fault.moment} ${state} (AGENT_ETL_FAULT)`), {
      name: 'InjectedFault',
    });
  };
  return async (input) => {
    if (fault.moment === 'before') fail();
    await handler(input);
    if (fault.moment === 'kill') process.kill(process.pid, 'SIGKILL');
    return fail();
  };
}

/** What the next command found of a run that never finished, and closed. */
export interface ClosedRun {
  readonly runId: string;
  readonly sourceObject: string;
  /** The FAILED completion event sent for it, as the backstop sends one for an aborted execution. */
  readonly completion?: CompletionDetail;
}

/** The cause written into the row of a run that never finished. */
export const INTERRUPTED_CAUSE =
  'the run was interrupted (its process ended before it recorded an outcome); what it merged was undone before the next run';

/**
 * Before any run, under the lake lock: a run still RUNNING has no live process (the lock admits one
 * command at a time, and DuckDB one writing process per database file), so it was killed part-way. Its row is closed FAILED as interrupted, then the undo
 * steps recompute its windows without it, exactly as after a caught failure. A failed run whose windows
 * are still held (its undo may itself have been interrupted) is undone again; the undo MERGEs are
 * idempotent, and the next run's ClearFinishedWindows lets go of the windows. Returns the runs closed.
 */
export async function closeInterruptedRuns(lake: Lake): Promise<ClosedRun[]> {
  const engine = new StrictAthenaEngine(lake);
  const recordSql = readSql(FAILED_RUN_FILE);
  const rows = await lake.query(
    `select runs.run_id, runs.source_object, runs.source_etag, runs.status,
       strftime(runs.started_at, '%Y-%m-%dT%H:%M:%S.%gZ') as started_at
     from pipeline_runs as runs
     where runs.status = 'RUNNING'
       or (runs.status = 'FAILED' and exists (select 1 from affected_windows as w where w.run_id = runs.run_id))
     order by runs.started_at, runs.run_id`,
  );
  const closed: ClosedRun[] = [];
  for (const row of rows) {
    const runId = String(row.run_id);
    const sourceObject = String(row.source_object);
    const slash = sourceObject.indexOf('/');
    const ended: EndedExecution = {
      runId,
      executionArn: `local:${runId}`,
      startedAt: String(row.started_at),
      status: 'ABORTED',
      bucket: sourceObject.slice(0, slash),
      key: sourceObject.slice(slash + 1),
      ...(row.source_etag ? { etag: String(row.source_etag) } : {}),
      error: 'Interrupted',
      cause: INTERRUPTED_CAUSE,
    };
    let completion: CompletionDetail | undefined;
    if (row.status === 'RUNNING') {
      await recordFailedRun(engine, recordSql, { ...ended, error: ended.error ?? 'Interrupted' });
    }
    await undoRun(engine, undoSql(), runId);
    if (row.status === 'RUNNING') {
      await handleEndedExecution(
        {
          engine,
          recordSql,
          emit: async (detail) => {
            completion = detail;
            appendFileSync(
              join(lake.paths.outbox, 'events.jsonl'),
              `${JSON.stringify(completionEntry(detail))}\n`,
            );
          },
        },
        ended,
      );
      closed.push({ runId, sourceObject, ...(completion ? { completion } : {}) });
    }
  }
  return closed;
}

/**
 * Runs one file through the pipeline's state machine, with every Task answered locally: the Glue job by
 * the DuckDB loader, each Athena query by DuckDB running the text the state machine rendered (after the
 * strict Athena checks), PutEvents by the outbox, the run-failed Lambda by its own code. A failed
 * execution then goes to the same backstop as in AWS, which sends the FAILED completion event.
 */
export async function runFile(lake: Lake, file: string, options: RunOptions = {}): Promise<FileRun> {
  const key = options.key ?? objectKeyFor(file);
  checkKey(key);
  const startedAt = new Date();
  const runId = options.runId ?? newRunId(startedAt);
  const sourceObject = `${LOCAL_BUCKET}/${key}`;
  const engine = new StrictAthenaEngine(lake);
  const recordSql = readSql(FAILED_RUN_FILE);
  let completion: CompletionDetail | undefined;

  const outbox = (entries: readonly PutEventsEntry[]) => {
    checkPutEvents(entries);
    for (const entry of entries) {
      appendFileSync(join(lake.paths.outbox, 'events.jsonl'), `${JSON.stringify(entry)}\n`);
      if (entry.Source === COMPLETION_EVENT.source) completion = entry.Detail as CompletionDetail;
    }
  };
  // Each query's rows, by execution id, for GetQueryResults (athena:getQueryResults).
  const results = new Map<string, Awaited<ReturnType<typeof engine.query>>>();
  const athena: TaskHandler = async (input) => {
    const { QueryString } = input as { QueryString: string };
    const rows = await engine.query(QueryString);
    const id = randomUUID();
    results.set(id, rows);
    return { QueryExecution: { QueryExecutionId: id, Status: { State: 'SUCCEEDED' } } };
  };
  const queryResults: TaskHandler = async (input) => {
    const { QueryExecutionId } = input as { QueryExecutionId: string };
    const rows = results.get(QueryExecutionId);
    if (!rows) throw new Error(`Athena: no query execution ${QueryExecutionId}`);
    return athenaResultSet(rows);
  };
  const handlers: Record<string, TaskHandler> = {
    [LOAD_STATE]: async (input) => {
      const args = checkStartJobRun(input, GLUE_JOB_ARGUMENTS);
      if (options.withdraw) return { JobRunState: 'SUCCEEDED', sourceObject, rowsRead: 0 };
      const result = await loadBronzeObject(lake, {
        bucket: args['--source_bucket'] ?? '',
        key: args['--source_key'] ?? '',
        runId: args['--run_id'] ?? '',
      });
      return { JobRunState: 'SUCCEEDED', ...result };
    },
    // The run-failed Lambda's own parsing and recording, on the local engine.
    [RECORD_FAILED_STATE]: async (input) => {
      const failure = caughtFailure((input as { Payload?: unknown }).Payload);
      if (!failure) throw new Error('RecordFailedRun: the payload is not a caught failure');
      await recordFailedRun(engine, recordSql, failure);
      return { StatusCode: 200 };
    },
    [EMIT_SUCCEEDED_STATE]: async (input) => {
      const entries = (input as { Entries: PutEventsEntry[] }).Entries;
      outbox(entries);
      return { Entries: entries.map(() => ({ EventId: randomBytes(8).toString('hex') })) };
    },
    // The completion event failed: the caller's check runs on the detail check-summary is invoked with.
    [CHECK_WITHOUT_EVENT_STATE]: async (input) => {
      completion = (input as { Payload: { detail: CompletionDetail } }).Payload.detail;
      return { StatusCode: 200 };
    },
    // SNS Publish to the alert topic: the topic's local stand-in, outbox/notifications.jsonl.
    [ALERT_EVENT_FAILED_STATE]: async (input) => {
      const { Subject, Message, MessageAttributes } = input as {
        Subject: string;
        Message: string;
        MessageAttributes: Record<string, { StringValue: string }>;
      };
      const alert = {
        subject: Subject,
        message: Message,
        attributes: Object.fromEntries(
          Object.entries(MessageAttributes).map(([name, value]) => [name, value.StringValue]),
        ),
        messageId: randomUUID(),
        timestamp: new Date().toISOString(),
      };
      appendFileSync(join(lake.paths.outbox, 'notifications.jsonl'), `${JSON.stringify(alert)}\n`);
      return { MessageId: alert.messageId };
    },
  };
  for (const step of [START_STEP, ...PIPELINE_STEPS, ...UNDO_STEPS]) handlers[step.state] = athena;
  for (const state of [OBJECT_DAYS.state, RUN_DAYS.state, undoState(RUN_DAYS.state)])
    handlers[state] = athena;
  for (const state of [GET_OBJECT_DAYS_STATE, GET_RUN_DAYS_STATE, undoState(GET_RUN_DAYS_STATE)])
    handlers[state] = queryResults;
  for (const [state, handler] of Object.entries(handlers)) handlers[state] = withFault(state, handler);
  const failed = async (ended: EndedExecution): Promise<FileRun> => {
    await handleEndedExecution(
      { engine, recordSql, emit: async (detail) => outbox([completionEntry(detail)]) },
      ended,
    );
    return {
      file,
      runId,
      sourceObject,
      status: 'FAILED',
      error: ended.cause ?? ended.error ?? 'failed',
      ...(completion ? { completion } : {}),
    };
  };

  let etag = '';
  try {
    if (!options.withdraw) etag = await landInBronze(lake, file, key);
  } catch (error) {
    // The upload itself failed (a full disk, an unreadable file): in AWS no execution would start; here
    // the run was due, so it is recorded FAILED and alerted on like any other.
    const failure = {
      runId,
      startedAt: startedAt.toISOString(),
      bucket: LOCAL_BUCKET,
      key,
      state: LAND_STATE,
      error: (error as Error).message,
    };
    await recordFailedRun(engine, recordSql, failure);
    return failed({
      ...failure,
      executionArn: `local:${runId}`,
      status: 'FAILED',
      cause: `${LAND_STATE}: ${failure.error}`,
    });
  }
  const noWait = Object.fromEntries(Object.keys(definition().States).map((name) => [name, 0]));
  let interrupt = () => {};
  if (options.interruptAt !== undefined) {
    if (!handlers[options.interruptAt]) throw new Error(`interruptAt: no Task state ${options.interruptAt}`);
    // Aborted before the state's work; the library stops at the end of this state (no Retry or Catch
    // does work: this handler is all they call), and its timers are cleared.
    handlers[options.interruptAt] = async () => {
      interrupt();
      throw new Error(`interrupted before ${options.interruptAt}`);
    };
  }

  const execution = stateMachine().run({ bucket: LOCAL_BUCKET, key, etag } as never, {
    overrides: {
      taskResourceLocalHandlers: handlers as never,
      retryIntervalOverrides: noWait,
    },
    context: { Execution: { Name: runId, Id: `local:${runId}`, StartTime: startedAt.toISOString() } },
  });
  interrupt = execution.abort;
  const progress = (async () => {
    for await (const event of execution.eventLogs) {
      if (event.type === 'StateEntered') options.onState?.(event.state.name);
    }
  })();
  try {
    await execution.result;
    await progress;
    return { file, runId, sourceObject, status: 'SUCCEEDED', ...(completion ? { completion } : {}) };
  } catch (error) {
    await progress.catch(() => undefined);
    if (!(error instanceof ExecutionError)) throw error;
    const failure = (error as { cause?: { name?: string; message?: string; cause?: unknown } }).cause;
    const cause = typeof failure?.cause === 'string' ? failure.cause : (failure?.message ?? error.message);
    // As in AWS, where the execution's status change triggers the run-failed Lambda.
    return failed({
      runId,
      executionArn: `local:${runId}`,
      startedAt: startedAt.toISOString(),
      status: 'FAILED',
      bucket: LOCAL_BUCKET,
      key,
      etag,
      error: failure?.name ?? 'Error',
      cause,
    });
  }
}

function completionEntry(detail: CompletionDetail): PutEventsEntry {
  return {
    EventBusName: LOCAL_RESOURCES.eventBusName,
    Source: COMPLETION_EVENT.source,
    DetailType: COMPLETION_EVENT.detailType,
    Detail: detail,
  };
}
