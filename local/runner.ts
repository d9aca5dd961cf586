import './polyfills';
import { randomBytes } from 'node:crypto';
import { appendFileSync, constants, copyFileSync, existsSync, realpathSync } from 'node:fs';
import { basename, join } from 'node:path';
import { ExecutionError, StateMachine, type StateMachineDefinition } from 'aws-local-stepfunctions';
import type { CompletionDetail } from '../handlers/check-summary/events';
import type { QueryValue } from '../handlers/ports';
import {
  type AslDefinition,
  buildDefinition,
  COMPLETION_EVENT,
  EMIT_FAILED_STATE,
  EMIT_SUCCEEDED_STATE,
  LOAD_STATE,
  type WorkflowResources,
} from '../workflow/definition';
import { FAILED_RUN_STEP, PIPELINE_STEPS } from '../workflow/steps';
import type { Lake } from './lake';
import { loadBronzeObject } from './loader';

/** What the local "account" calls its resources; only names, nothing is looked up. */
export const LOCAL_RESOURCES: WorkflowResources = {
  glueJobName: 'local-loader',
  athenaWorkGroup: 'local-duckdb',
  glueDatabase: 'lake',
  eventBusName: 'local',
};

export const LOCAL_BUCKET = 'bronze';

export interface RunHooks {
  /** Each state as the execution enters it (for progress). */
  readonly onState?: (state: string) => void;
  /** The completion event, as EventBridge would deliver it to the check-summary rule. */
  readonly onCompleted?: (detail: CompletionDetail) => Promise<void>;
}

export interface FileRun {
  readonly file: string;
  readonly runId: string;
  readonly sourceObject: string;
  readonly status: 'SUCCEEDED' | 'FAILED';
  readonly error?: string;
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
  return [LOAD_STATE, ...PIPELINE_STEPS.map((step) => step.state), EMIT_SUCCEEDED_STATE];
}

/**
 * Athena ExecutionParameters are SQL literals; the local engine binds their values instead.
 * Accepts exactly what the state machine sends: a single-quoted string or a number.
 */
export function parseAthenaLiteral(literal: string): QueryValue {
  const quoted = /^'((?:[^']|'')*)'$/.exec(literal);
  if (quoted?.[1] !== undefined) return quoted[1].replaceAll("''", "'");
  if (/^-?\d+(\.\d+)?$/.test(literal)) return Number(literal);
  throw new Error(`not an Athena parameter literal: ${literal}`);
}

function newRunId(now: Date): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('.', '').replace('Z', '');
  return `local-${stamp}-${randomBytes(3).toString('hex')}`;
}

/**
 * Copies the file into bronze as an object named by its file name (a same-named object is replaced),
 * so later edits of the original do not change what was ingested. Reflinks where the filesystem can.
 */
function landInBronze(lake: Lake, file: string): string {
  const key = basename(file);
  const target = join(lake.paths.bronze, key);
  if (!(existsSync(target) && realpathSync(target) === realpathSync(file))) {
    copyFileSync(file, target, constants.COPYFILE_FICLONE);
  }
  return key;
}

type Json = Record<string, unknown>;

/**
 * Runs one file through the pipeline's state machine, with every Task answered locally: the Glue job by
 * the DuckDB loader, each Athena query by DuckDB running the same text, PutEvents by the outbox.
 */
export async function runFile(lake: Lake, file: string, hooks: RunHooks = {}): Promise<FileRun> {
  const key = landInBronze(lake, file);
  const startedAt = new Date();
  const runId = newRunId(startedAt);
  const sourceObject = `${LOCAL_BUCKET}/${key}`;

  const athena = async (input: unknown) => {
    const { QueryString, ExecutionParameters } = input as {
      QueryString: string;
      ExecutionParameters?: string[];
    };
    await lake.query(QueryString, (ExecutionParameters ?? []).map(parseAthenaLiteral));
    return { QueryExecution: { Status: { State: 'SUCCEEDED' } } };
  };
  const emit = async (input: unknown) => {
    const entries = (input as { Entries: Json[] }).Entries;
    for (const entry of entries) {
      appendFileSync(join(lake.paths.outbox, 'events.jsonl'), `${JSON.stringify(entry)}\n`);
      if (entry.Source === COMPLETION_EVENT.source && hooks.onCompleted) {
        await hooks.onCompleted(entry.Detail as unknown as CompletionDetail);
      }
    }
    return { Entries: entries.map(() => ({ EventId: randomBytes(8).toString('hex') })) };
  };
  const handlers: Record<string, (input: unknown) => Promise<unknown>> = {
    [LOAD_STATE]: async (input: unknown) => {
      const args = (input as { Arguments: Record<string, string> }).Arguments;
      const result = await loadBronzeObject(lake, {
        bucket: args['--source_bucket'] ?? '',
        key: args['--source_key'] ?? '',
        runId: args['--run_id'] ?? '',
      });
      return { JobRunState: 'SUCCEEDED', ...result };
    },
    [FAILED_RUN_STEP.state]: athena,
    [EMIT_SUCCEEDED_STATE]: emit,
    [EMIT_FAILED_STATE]: emit,
  };
  for (const step of PIPELINE_STEPS) handlers[step.state] = athena;
  const noWait = Object.fromEntries(Object.keys(definition().States).map((name) => [name, 0]));

  const execution = stateMachine().run({ bucket: LOCAL_BUCKET, key } as never, {
    overrides: {
      taskResourceLocalHandlers: handlers as never,
      retryIntervalOverrides: noWait,
    },
    context: { Execution: { Name: runId, Id: `local:${runId}`, StartTime: startedAt.toISOString() } },
  });
  const progress = (async () => {
    for await (const event of execution.eventLogs) {
      if (event.type === 'StateEntered') hooks.onState?.(event.state.name);
    }
  })();
  try {
    await execution.result;
    await progress;
    return { file, runId, sourceObject, status: 'SUCCEEDED' };
  } catch (error) {
    await progress.catch(() => undefined);
    if (error instanceof ExecutionError) {
      const cause = (error as { cause?: { message?: string; cause?: unknown } }).cause;
      const message = typeof cause?.cause === 'string' ? cause.cause : (cause?.message ?? error.message);
      return { file, runId, sourceObject, status: 'FAILED', error: message };
    }
    throw error;
  }
}
