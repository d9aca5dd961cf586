import './polyfills';
import { createHash, randomBytes } from 'node:crypto';
import {
  appendFileSync,
  constants,
  copyFileSync,
  createReadStream,
  existsSync,
  mkdirSync,
  realpathSync,
} from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { ExecutionError, StateMachine, type StateMachineDefinition } from 'aws-local-stepfunctions';
import type { CompletionDetail } from '../handlers/check-summary/events';
import { type EndedExecution, handleEndedExecution } from '../handlers/run-failed/backstop';
import { caughtFailure } from '../handlers/run-failed/events';
import { recordFailedRun } from '../handlers/run-failed/record';
import {
  type AslDefinition,
  buildDefinition,
  COMPLETION_EVENT,
  EMIT_SUCCEEDED_STATE,
  GLUE_JOB_ARGUMENTS,
  LOAD_STATE,
  RECORD_FAILED_STATE,
  type WorkflowResources,
} from '../workflow/definition';
import { FAILED_RUN_FILE, PIPELINE_STEPS, readSql, START_STEP, UNDO_STEPS } from '../workflow/steps';
import type { Lake } from './lake';
import { loadBronzeObject } from './loader';
import { checkPutEvents, checkStartJobRun, type PutEventsEntry, StrictAthenaEngine } from './strict-twin';

/** What the local "account" calls its resources; only names, nothing is looked up. */
export const LOCAL_RESOURCES: WorkflowResources = {
  glueJobName: 'local-loader',
  athenaWorkGroup: 'local-duckdb',
  glueDatabase: 'lake',
  eventBusName: 'local',
  runFailedFunctionArn: 'local-run-failed',
};

export const LOCAL_BUCKET = 'bronze';

/** An S3 object key is at most 1,024 bytes of UTF-8 (https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-keys.html). */
const MAX_KEY_BYTES = 1024;

export interface RunOptions {
  /** Each state as the execution enters it (for progress). */
  readonly onState?: (state: string) => void;
  /** The object key in bronze; by default the file's absolute path (see `objectKeyFor`). */
  readonly key?: string;
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

let cachedMachine: StateMachine | undefined;
/**
 * One machine per process. Validation is skipped here because the definition is our own and
 * __tests__/workflow.test.ts validates it; validating costs about 0.25 s per construction.
 */
function stateMachine(): StateMachine {
  cachedMachine ??= new StateMachine(definition() as unknown as StateMachineDefinition, {
    validationOptions: { noValidate: true },
  });
  return cachedMachine;
}

/** States of the successful path, in order: what a progress bar counts. */
export function successPath(): string[] {
  return [START_STEP.state, LOAD_STATE, ...PIPELINE_STEPS.map((step) => step.state), EMIT_SUCCEEDED_STATE];
}

function newRunId(now: Date): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('.', '').replace('Z', '');
  return `local-${stamp}-${randomBytes(3).toString('hex')}`;
}

/**
 * The bronze key of a file: its absolute path without the leading slash, so that two files never share
 * an object (daily exports with a fixed name in dated folders) and running the same path again replaces
 * its earlier version, as uploading to the same S3 key does.
 */
export function objectKeyFor(file: string): string {
  return realpathSync(resolve(file)).replaceAll('\\', '/').replace(/^\/+/, '');
}

function checkKey(key: string): void {
  const segments = key.split('/');
  if (key.length === 0 || Buffer.byteLength(key) > MAX_KEY_BYTES) {
    throw new Error(`object key must be 1 to ${MAX_KEY_BYTES} bytes: ${key}`);
  }
  if (key.startsWith('/') || segments.some((s) => s === '' || s === '.' || s === '..')) {
    throw new Error(`object key must be a relative path without empty, . or .. segments: ${key}`);
  }
}

/** The ETag S3 gives an object uploaded in one part: the MD5 of its bytes, read as a stream. */
export async function fileEtag(file: string): Promise<string> {
  const hash = createHash('md5');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Copies the file into bronze under its key, so later edits of the original change nothing ingested. */
function landInBronze(lake: Lake, file: string, key: string): Promise<string> {
  checkKey(key);
  const target = join(lake.paths.bronze, key);
  if (!(existsSync(target) && realpathSync(target) === realpathSync(file))) {
    mkdirSync(dirname(target), { recursive: true });
    copyFileSync(file, target, constants.COPYFILE_FICLONE);
  }
  return fileEtag(target);
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

/**
 * Runs one file through the pipeline's state machine, with every Task answered locally: the Glue job by
 * the DuckDB loader, each Athena query by DuckDB running the text the state machine rendered (after the
 * strict Athena checks), PutEvents by the outbox, the run-failed Lambda by its own code. A failed
 * execution then goes to the same backstop as in AWS, which sends the FAILED completion event.
 */
export async function runFile(lake: Lake, file: string, options: RunOptions = {}): Promise<FileRun> {
  const key = options.key ?? objectKeyFor(file);
  const etag = await landInBronze(lake, file, key);
  const startedAt = new Date();
  const runId = newRunId(startedAt);
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
  const athena: TaskHandler = async (input) => {
    const { QueryString } = input as { QueryString: string };
    await engine.query(QueryString);
    return { QueryExecution: { Status: { State: 'SUCCEEDED' } } };
  };
  const handlers: Record<string, TaskHandler> = {
    [LOAD_STATE]: async (input) => {
      const args = checkStartJobRun(input, GLUE_JOB_ARGUMENTS);
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
  };
  for (const step of [START_STEP, ...PIPELINE_STEPS, ...UNDO_STEPS]) handlers[step.state] = athena;
  for (const [state, handler] of Object.entries(handlers)) handlers[state] = withFault(state, handler);
  const noWait = Object.fromEntries(Object.keys(definition().States).map((name) => [name, 0]));

  const execution = stateMachine().run({ bucket: LOCAL_BUCKET, key, etag } as never, {
    overrides: {
      taskResourceLocalHandlers: handlers as never,
      retryIntervalOverrides: noWait,
    },
    context: { Execution: { Name: runId, Id: `local:${runId}`, StartTime: startedAt.toISOString() } },
  });
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
    const ended: EndedExecution = {
      runId,
      executionArn: `local:${runId}`,
      startedAt: startedAt.toISOString(),
      status: 'FAILED',
      bucket: LOCAL_BUCKET,
      key,
      etag,
      error: failure?.name ?? 'Error',
      cause,
    };
    await handleEndedExecution(
      { engine, recordSql, emit: async (detail) => outbox([completionEntry(detail)]) },
      ended,
    );
    return {
      file,
      runId,
      sourceObject,
      status: 'FAILED',
      error: cause,
      ...(completion ? { completion } : {}),
    };
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
