import { Logger } from '@aws-lambda-powertools/logger';
import { AthenaClient } from '@aws-sdk/client-athena';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { DescribeExecutionCommand, SFNClient } from '@aws-sdk/client-sfn';
import * as z from 'zod';
import { COMPLETION_EVENT } from '../../workflow/definition';
import { AthenaQueryEngine } from '../aws/athena-query-engine';
import type { QueryEngine } from '../ports';
import { type EndedExecution, handleEndedExecution, repairEndedRun, type UndoSql } from './backstop';
import { caughtFailure, notifyingExecution, repairRequest } from './events';
import { MAX_ERROR_CHARACTERS, recordFailedRun, truncate } from './record';

export const logger = new Logger();

/** `Step Functions Execution Status Change` on the default bus, for FAILED, TIMED_OUT and ABORTED. */
const StatusChangeSchema = z.object({
  source: z.literal('aws.states'),
  'detail-type': z.literal('Step Functions Execution Status Change'),
  detail: z.object({
    executionArn: z.string(),
    name: z.string(),
    status: z.enum(['FAILED', 'TIMED_OUT', 'ABORTED']),
  }),
});

const ExecutionInputSchema = z.object({ bucket: z.string(), key: z.string(), etag: z.string().optional() });

export interface RunFailedDependencies {
  readonly engine: QueryEngine;
  readonly recordSql: string;
  /** The run's days and the undo MERGEs (workflow/steps.ts RUN_DAYS, UNDO_STEPS). */
  readonly undoSql: UndoSql;
  readonly describe: (executionArn: string) => Promise<{
    input: string;
    startDate: Date;
    status: string;
    error?: string;
    cause?: string;
  }>;
  readonly putEvent: (detail: Record<string, unknown>) => Promise<void>;
}

function required(env: NodeJS.ProcessEnv, name: string): string {
  const value = env[name];
  if (!value) throw new Error(`environment variable ${name} is not set`);
  return value;
}

export function awsDependencies(
  env: NodeJS.ProcessEnv,
  recordSql: string,
  undoSql: UndoSql,
): RunFailedDependencies {
  const sfn = new SFNClient({});
  const events = new EventBridgeClient({});
  const eventBusName = required(env, 'EVENT_BUS_NAME');
  return {
    engine: new AthenaQueryEngine(new AthenaClient({}), {
      workGroup: required(env, 'ATHENA_WORKGROUP'),
      database: required(env, 'GLUE_DATABASE'),
    }),
    recordSql,
    undoSql,
    describe: async (executionArn) => {
      const out = await sfn.send(new DescribeExecutionCommand({ executionArn }));
      return {
        input: out.input ?? '{}',
        startDate: out.startDate ?? new Date(),
        status: out.status ?? 'UNKNOWN',
        error: out.error,
        cause: out.cause,
      };
    },
    putEvent: async (detail) => {
      const result = await events.send(
        new PutEventsCommand({
          Entries: [
            {
              EventBusName: eventBusName,
              Source: COMPLETION_EVENT.source,
              DetailType: COMPLETION_EVENT.detailType,
              Detail: JSON.stringify(detail),
            },
          ],
        }),
      );
      if (result.FailedEntryCount)
        throw new Error(`PutEvents refused the entry: ${result.Entries?.[0]?.ErrorMessage}`);
    },
  };
}

const ENDED = ['FAILED', 'TIMED_OUT', 'ABORTED'] as const;

/** The execution as the backstop and the repair see it, read with DescribeExecution. */
async function endedExecution(
  deps: RunFailedDependencies,
  executionArn: string,
  change?: { readonly name: string; readonly status: EndedExecution['status'] },
): Promise<EndedExecution> {
  const described = await deps.describe(executionArn);
  const ended = change?.status ?? ENDED.find((candidate) => candidate === described.status);
  if (!ended) throw new Error(`execution ${executionArn} is ${described.status}, not ended without success`);
  const input = ExecutionInputSchema.parse(JSON.parse(described.input));
  return {
    // An execution's ARN ends with its name, the run id (API_DescribeExecution, executionArn).
    runId: change?.name ?? executionArn.split(':').at(-1) ?? executionArn,
    executionArn,
    startedAt: described.startDate.toISOString(),
    status: ended,
    bucket: input.bucket,
    key: input.key,
    etag: input.etag,
    error: described.error,
    cause: described.cause,
  };
}

/**
 * Three callers: the state machine's RecordFailedRun (record only: the undo steps and the Fail state
 * follow); the EventBridge rule on the execution's status change (record when not yet recorded, then
 * send the FAILED completion event); and the drain, which asks it to record a child that never started
 * (`notify`: record and send the event) or to repair a child that ended without success (record as
 * interrupted, then undo). Throws on failure, so every caller retries.
 */
export function createRunFailedHandler(dependencies: () => RunFailedDependencies) {
  let deps: RunFailedDependencies | undefined;
  return async (event: unknown): Promise<{ recorded: boolean } | { repaired: true }> => {
    deps ??= dependencies();
    const repair = repairRequest(event);
    if (repair) {
      const ended = await endedExecution(deps, repair);
      logger.info('repairing a run that ended without success', { runId: ended.runId, status: ended.status });
      return repairEndedRun(deps, ended);
    }
    const caught = caughtFailure(event);
    if (caught) {
      logger.info('recording a caught failure', {
        runId: caught.runId,
        state: caught.state,
        error: caught.error,
      });
      await recordFailedRun(deps.engine, deps.recordSql, caught);
      const notifying = notifyingExecution(event);
      if (notifying !== undefined) {
        await deps.putEvent({
          status: 'FAILED',
          run_id: caught.runId,
          execution_arn: notifying,
          started_at: caught.startedAt,
          bucket: caught.bucket,
          key: caught.key,
          error: caught.error,
          ...(caught.cause ? { cause: truncate(caught.cause, MAX_ERROR_CHARACTERS) } : {}),
        });
      }
      return { recorded: true };
    }
    const change = StatusChangeSchema.parse(event);
    const ended = await endedExecution(deps, change.detail.executionArn, change.detail);
    logger.info('execution ended without success', { runId: ended.runId, status: ended.status });
    const emit = deps.putEvent;
    return handleEndedExecution(
      { engine: deps.engine, recordSql: deps.recordSql, emit: (d) => emit(d) },
      ended,
    );
  };
}
