import { randomUUID } from 'node:crypto';
import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { deliverAlert } from '../../handlers/notify/deliver';
import type { DeadLetterQueue, Log, Notification, Publisher, WebhookTarget } from '../../handlers/ports';

export function outboxDir(lake: string): string {
  return join(lake, 'outbox');
}

export function notificationsFile(lake: string): string {
  return join(outboxDir(lake), 'notifications.jsonl');
}

export function deadLettersFile(lake: string): string {
  return join(outboxDir(lake), 'dead-letters.jsonl');
}

function appendLine(file: string, value: unknown): void {
  mkdirSync(join(file, '..'), { recursive: true });
  appendFileSync(file, `${JSON.stringify(value)}\n`, 'utf8');
}

/** Local dead letters: one JSON line per alert a webhook refused for good. */
export class FileDeadLetterQueue implements DeadLetterQueue {
  constructor(private readonly file: string) {}

  async send(body: string): Promise<void> {
    appendLine(this.file, JSON.parse(body));
  }
}

/**
 * `AGENT_ETL_WEBHOOK_URL` (and `AGENT_ETL_WEBHOOK_FORMAT=slack` for a Slack-compatible hook; JSON
 * otherwise): the one webhook local alerts are also delivered to.
 */
export function webhookFromEnv(env: NodeJS.ProcessEnv): WebhookTarget | undefined {
  const url = env.AGENT_ETL_WEBHOOK_URL;
  if (!url) return undefined;
  return {
    name: 'AGENT_ETL_WEBHOOK_URL',
    format: env.AGENT_ETL_WEBHOOK_FORMAT === 'slack' ? 'slack' : 'json',
    url,
  };
}

/** The SNS topic's local stand-in: appends each alert to `<lake>/outbox/notifications.jsonl`. */
export class OutboxPublisher implements Publisher {
  constructor(
    private readonly lake: string,
    private readonly log: Log,
    private readonly webhook: WebhookTarget | undefined = webhookFromEnv(process.env),
  ) {}

  async publish(notification: Notification): Promise<void> {
    const alert = {
      subject: notification.subject,
      message: notification.message,
      attributes: { ...notification.attributes },
      messageId: randomUUID(),
      timestamp: new Date().toISOString(),
    };
    appendLine(notificationsFile(this.lake), alert);
    if (this.webhook) {
      await deliverAlert(alert, {
        targets: [this.webhook],
        deadLetters: new FileDeadLetterQueue(deadLettersFile(this.lake)),
        log: this.log,
      });
    }
  }
}
