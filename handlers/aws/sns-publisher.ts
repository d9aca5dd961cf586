import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import type { Notification, Publisher } from '../ports';

/** SNS subjects are ASCII without control characters and shorter than 100 characters. */
export function snsSubject(subject: string): string {
  const printable = subject.replace(/[^\x20-\x7e]/g, '?').trim();
  return printable.length < 100 ? printable : `${printable.slice(0, 96)}...`;
}

/** Publishes to the alert topic; attributes become String message attributes for filter policies. */
export class SnsPublisher implements Publisher {
  constructor(
    private readonly client: SNSClient,
    private readonly topicArn: string,
  ) {}

  async publish(notification: Notification): Promise<void> {
    await this.client.send(
      new PublishCommand({
        TopicArn: this.topicArn,
        Subject: snsSubject(notification.subject),
        Message: notification.message,
        MessageAttributes: Object.fromEntries(
          Object.entries(notification.attributes).map(([name, value]) => [
            name,
            { DataType: 'String', StringValue: value },
          ]),
        ),
      }),
    );
  }
}
