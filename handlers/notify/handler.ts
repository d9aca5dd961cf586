import { Logger } from '@aws-lambda-powertools/logger';

import { SQSClient } from '@aws-sdk/client-sqs';
import { SSMClient } from '@aws-sdk/client-ssm';
import type { Context } from 'aws-lambda';
import { SqsDeadLetterQueue } from '../aws/sqs-dead-letter-queue';
import { loadWebhookTargets } from '../aws/ssm-webhook-targets';
import type { WebhookTarget } from '../ports';
import { type DeliveryReport, deliverAlert, type NotifyDependencies } from './deliver';
import { SnsEventSchema } from './events';
import type { AlertMessage } from './format';

export const logger = new Logger();

/** Webhook URLs are re-read from SSM after this long, so a rotated URL is picked up without a deploy. */
const TARGETS_TTL_MS = 5 * 60_000;

/** The AWS wiring, from the function's environment (see docs/alerts.md). */
export function awsNotifyDependencies(env: NodeJS.ProcessEnv): () => Promise<NotifyDependencies> {
  const names = (env.WEBHOOK_PARAMETER_NAMES ?? '')
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name !== '');
  const dlqUrl = env.NOTIFY_DLQ_URL;
  if (!dlqUrl) throw new Error('environment variable NOTIFY_DLQ_URL is not set');
  const ssm = new SSMClient({});
  const deadLetters = new SqsDeadLetterQueue(new SQSClient({}), dlqUrl);
  let cached: { targets: WebhookTarget[]; at: number } | undefined;
  return async () => {
    if (!cached || Date.now() - cached.at > TARGETS_TTL_MS) {
      cached = { targets: await loadWebhookTargets(ssm, names), at: Date.now() };
    }
    return { targets: cached.targets, deadLetters, log: logger };
  };
}

/** The Lambda handler: each SNS record is one alert, delivered to every webhook. */
export function createNotifyHandler(dependencies: () => Promise<NotifyDependencies>) {
  return async (event: unknown, context?: Context): Promise<DeliveryReport[]> => {
    if (context) logger.addContext(context);
    const parsed = SnsEventSchema.safeParse(event);
    if (!parsed.success) {
      logger.error('event is not an SNS notification', { issues: parsed.error.issues });
      throw new Error(`unrecognised event: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
    }
    const deps = await dependencies();
    const reports: DeliveryReport[] = [];
    for (const record of parsed.data.Records) {
      const sns = record.Sns;
      const alert: AlertMessage = {
        subject: sns.Subject ?? '',
        message: sns.Message,
        attributes: Object.fromEntries(
          Object.entries(sns.MessageAttributes ?? {}).map(([k, v]) => [k, v.Value]),
        ),
        messageId: sns.MessageId,
        timestamp: sns.Timestamp,
      };
      const delivered = await deliverAlert(alert, deps);
      logger.info('alert delivered', { messageId: sns.MessageId, deliveries: delivered });
      reports.push(...delivered);
    }
    return reports;
  };
}
