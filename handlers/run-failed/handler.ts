import { Logger } from '@aws-lambda-powertools/logger';
import { AthenaClient } from '@aws-sdk/client-athena';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { DescribeExecutionCommand, SFNClient } from '@aws-sdk/client-sfn';
import * as z from 'zod';
import { COMPLETION_EVENT } from '../../workflow/definition';
import { AthenaQueryEngine } from '../aws/athena-query-engine';
import type { QueryEngine } from '../ports';
import { type EndedExecution, handleEndedExecution } from './backstop';
import { caughtFailure } from './events';
import { recordFailedRun } from './record';

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
  readonly describe: (executionArn: string) => Promise<{
    input: string;
    startDate: Date;
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

export function awsDependencies(env: NodeJS.ProcessEnv, recordSql: string): RunFailedDependencies {
  const sfn = new SFNClient({});
  const events = new EventBridgeClient({});
  const eventBusName = required(env, 'EVENT_BUS_NAME');
  return {
    engine: new AthenaQueryEngine(new AthenaClient({}), {
      workGroup: required(env, 'ATHENA_WORKGROUP'),
      database: required(env, 'GLUE_DATABASE'),
    }),
    recordSql,
    describe: async (executionArn) => {
      const out = await sfn.send(new DescribeExecutionCommand({ executionArn }));
      return {
        input: out.input ?? '{}',
        startDate: out.startDate ?? new Date(),
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

/**
 * Two callers: the state machine's RecordFailedRun (record only: the undo steps and the Fail state
 * follow), and the EventBridge rule on the execution's status change (record when not yet recorded,
 * then send the FAILED completion event). Throws on failure, so both callers retry.
 */
export function createRunFailedHandler(dependencies: () => RunFailedDependencies) {
  let deps: RunFailedDependencies | undefined;
  return async (event: unknown): Promise<{ recorded: boolean }> => {
    deps ??= dependencies();
    const caught = caughtFailure(event);
    if (caught) {
      logger.info('recording a caught failure', {
        runId: caught.runId,
        state: caught.state,
        error: caught.error,
      });
      await recordFailedRun(deps.engine, deps.recordSql, caught);
      return { recorded: true };
    }
    const change = StatusChangeSchema.parse(event);
    const described = await deps.describe(change.detail.executionArn);
    const input = ExecutionInputSchema.parse(JSON.parse(described.input));
    const ended: EndedExecution = {
      runId: change.detail.name,
      executionArn: change.detail.executionArn,
      startedAt: described.startDate.toISOString(),
      status: change.detail.status,
      bucket: input.bucket,
      key: input.key,
      etag: input.etag,
      error: described.error,
      cause: described.cause,
    };
    logger.info('execution ended without success', { runId: ended.runId, status: ended.status });
    const emit = deps.putEvent;
    return handleEndedExecution(
      { engine: deps.engine, recordSql: deps.recordSql, emit: (d) => emit(d) },
      ended,
    );
  };
}
