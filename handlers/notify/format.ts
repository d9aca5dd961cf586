import type { WebhookTarget } from '../ports';

/** An alert as the topic delivered it: what check-summary published, plus SNS's envelope. */
export interface AlertMessage {
  readonly subject: string;
  readonly message: string;
  readonly attributes: Readonly<Record<string, string>>;
  readonly messageId: string;
  /** ISO 8601, when SNS accepted the message. */
  readonly timestamp: string;
}

/** Slack decodes these three entities in every text field; escaping them keeps `<!channel>` and links inert. */
export function escapeSlackText(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
}

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** A plain_text object: Slack never reads markdown or emoji codes in it. */
function plainText(text: string, max: number) {
  return { type: 'plain_text', text: clip(escapeSlackText(text), max), emoji: false };
}

/**
 * Slack incoming-webhook payload. All alert text goes in plain_text blocks, and the fallback `text`
 * (what notifications and Slack-compatible servers without blocks show) is escaped with markdown off.
 */
export function slackPayload(alert: AlertMessage) {
  const { kind = 'alert', severity = 'unknown' } = alert.attributes;
  const context = [`severity: ${severity}`, `kind: ${kind}`];
  if (alert.attributes.window_start && alert.attributes.window_end) {
    context.push(`window: ${alert.attributes.window_start} to ${alert.attributes.window_end}`);
  }
  return {
    text: clip(escapeSlackText(`${alert.subject}\n${alert.message}`), 3000),
    mrkdwn: false,
    blocks: [
      { type: 'header', text: plainText(alert.subject, 150) },
      { type: 'section', text: plainText(alert.message, 3000) },
      { type: 'context', elements: [plainText(context.join(' | '), 2000)] },
    ],
  };
}

/** Generic webhook payload: the alert as data; JSON encoding is the only escaping it needs. */
export function jsonPayload(alert: AlertMessage) {
  return {
    source: 'agent-activity-etl',
    kind: alert.attributes.kind ?? 'alert',
    severity: alert.attributes.severity ?? 'unknown',
    subject: alert.subject,
    message: alert.message,
    attributes: alert.attributes,
    message_id: alert.messageId,
    timestamp: alert.timestamp,
  };
}

export function payloadFor(format: WebhookTarget['format'], alert: AlertMessage): unknown {
  return format === 'slack' ? slackPayload(alert) : jsonPayload(alert);
}
