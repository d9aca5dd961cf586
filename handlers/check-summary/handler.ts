import { Logger } from '@aws-lambda-powertools/logger';
import { AthenaClient } from '@aws-sdk/client-athena';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SNSClient } from '@aws-sdk/client-sns';
import type { Context } from 'aws-lambda';
import { AthenaQueryEngine } from '../aws/athena-query-engine';
import { DynamoDbAlertStateStore } from '../aws/dynamodb-alert-state';
import { SnsPublisher } from '../aws/sns-publisher';
import { coverageJson } from '../coverage-check/coverage';
import type { CoverageQueries } from '../coverage-check/queries';
import { parseOperatingSchedule } from '../coverage-check/schedule';
import { assertTimeZone } from '../coverage-check/wall-clock';
import type { Log } from '../ports';
import { type CheckDependencies, checkCompletedRun, checkDaily } from './check';
import { CheckSummaryEventSchema } from './events';

export const logger = new Logger();

function required(env: NodeJS.ProcessEnv, name: string): string {
  const value = env[name];
  if (!value) throw new Error(`environment variable ${name} is not set`);
  return value;
}

/** The AWS wiring, from the function's environment (see docs/alerts.md). */
export function awsDependencies(
  env: NodeJS.ProcessEnv,
  queries: CoverageQueries,
  log: Log,
): CheckDependencies {
  const timeZone = env.TIMEZONE || 'UTC';
  assertTimeZone(timeZone);
  return {
    engine: new AthenaQueryEngine(new AthenaClient({}), {
      workGroup: required(env, 'ATHENA_WORKGROUP'),
      database: required(env, 'GLUE_DATABASE'),
    }),
    publisher: new SnsPublisher(new SNSClient({}), required(env, 'ALERT_TOPIC_ARN')),
    alertState: new DynamoDbAlertStateStore(new DynamoDBClient({}), required(env, 'ALERT_STATE_TABLE')),
    log,
    queries,
    timeZone,
    schedule: parseOperatingSchedule(env.OPERATING_SCHEDULE),
    now: () => new Date(),
  };
}

export interface CheckSummaryResult {
  readonly failedRun?: string;
  readonly windows: readonly (ReturnType<typeof coverageJson> & { action: string })[];
}

/** The Lambda handler around the check; `dependencies` is called once, on the first event. */
export function createCheckSummaryHandler(dependencies: () => CheckDependencies) {
  let deps: CheckDependencies | undefined;
  return async (event: unknown, context?: Context): Promise<CheckSummaryResult> => {
    if (context) logger.addContext(context);
    const parsed = CheckSummaryEventSchema.safeParse(event);
    if (!parsed.success) {
      logger.error('event is neither a run completion nor a daily schedule', { issues: parsed.error.issues });
      throw new Error(`unrecognised event: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
    }
    deps ??= dependencies();
    const request = parsed.data;
    if (request.kind === 'completion') logger.appendKeys({ runId: request.detail.run_id });
    const outcome =
      request.kind === 'completion'
        ? await checkCompletedRun(request.detail, deps)
        : await checkDaily(request, deps);
    return {
      ...(outcome.failedRun ? { failedRun: outcome.failedRun } : {}),
      windows: outcome.windows.map((w) => ({ ...coverageJson(w.result), action: w.action })),
    };
  };
}
