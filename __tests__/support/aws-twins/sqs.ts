import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { TaskError } from './errors';

export interface ReceiveMessageInput {
  readonly QueueUrl: string;
  readonly MaxNumberOfMessages?: number;
  readonly VisibilityTimeout?: number;
  readonly WaitTimeSeconds?: number;
}
export interface ReceivedMessage {
  readonly MessageId: string;
  readonly ReceiptHandle: string;
  readonly MD5OfBody: string;
  readonly Body: string;
}
export interface DeleteMessageInput {
  readonly QueueUrl: string;
  readonly ReceiptHandle: string;
}
export interface GetQueueAttributesInput {
  readonly QueueUrl: string;
  readonly AttributeNames: readonly string[];
}

export interface LocalSqsQueueOptions {
  /** The queue's default visibility timeout, used when a receive names none. */
  readonly visibilityTimeoutSeconds: number;
  /** Redrive: after this many receives a message moves to `deadLetterQueue` instead of being delivered. */
  readonly maxReceiveCount?: number;
  readonly deadLetterQueue?: LocalSqsQueue;
  /** Milliseconds since the epoch; tests move it to expire visibility timeouts. */
  readonly now?: () => number;
}

interface StoredMessage {
  readonly id: string;
  readonly body: string;
  receiveCount: number;
  visibleAt: number;
  receiptHandle?: string;
}

/** Limits of ReceiveMessage (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_ReceiveMessage.html). */
const RECEIVE_LIMITS = {
  MaxNumberOfMessages: [1, 10],
  VisibilityTimeout: [0, 43_200],
  WaitTimeSeconds: [0, 20],
} as const;

/** The attributes this twin reports; GetQueueAttributes returns their values as strings. */
const ATTRIBUTES = ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] as const;

const invalid = (message: string) => new TaskError('Sqs.InvalidParameterValueException', message);

/**
 * In-memory twin of a standard SQS queue, answering the Step Functions AWS SDK integration
 * (`receiveMessage`, `deleteMessage`, `getQueueAttributes`) the way SQS does: a received message is
 * hidden for the visibility timeout and comes back when it expires; each receive gives a new receipt
 * handle and only the latest one deletes the message (an older one is accepted and deletes nothing,
 * https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_DeleteMessage.html);
 * redrive moves a message received `maxReceiveCount` times to the dead-letter queue. Receives answer at
 * once (no long-poll wait): every message sent is visible to the next receive.
 */
export class LocalSqsQueue {
  private readonly messages: StoredMessage[] = [];
  private readonly now: () => number;

  constructor(
    readonly url: string,
    private readonly options: LocalSqsQueueOptions,
  ) {
    this.now = options.now ?? Date.now;
  }

  /** What the EventBridge target does for each matched event. */
  sendMessage(body: string): string {
    const id = randomUUID();
    this.messages.push({ id, body, receiveCount: 0, visibleAt: 0 });
    return id;
  }

  readonly receiveMessage = async (input: ReceiveMessageInput): Promise<{ Messages?: ReceivedMessage[] }> => {
    this.checkUrl(input.QueueUrl);
    for (const [name, [min, max]] of Object.entries(RECEIVE_LIMITS)) {
      const value = input[name as keyof typeof RECEIVE_LIMITS];
      if (value !== undefined && !(Number.isInteger(value) && value >= min && value <= max)) {
        throw invalid(
          `Value ${value} for parameter ${name} is invalid. Reason: must be between ${min} and ${max}.`,
        );
      }
    }
    const now = this.now();
    const limit = input.MaxNumberOfMessages ?? 1;
    const visibility = input.VisibilityTimeout ?? this.options.visibilityTimeoutSeconds;
    const received: ReceivedMessage[] = [];
    for (const message of [...this.messages]) {
      if (received.length >= limit) break;
      if (message.visibleAt > now) continue;
      const { maxReceiveCount, deadLetterQueue } = this.options;
      if (maxReceiveCount !== undefined && deadLetterQueue && message.receiveCount >= maxReceiveCount) {
        this.remove(message);
        deadLetterQueue.sendMessage(message.body);
        continue;
      }
      message.receiveCount += 1;
      message.visibleAt = now + visibility * 1000;
      message.receiptHandle = randomBytes(24).toString('base64url');
      received.push({
        MessageId: message.id,
        ReceiptHandle: message.receiptHandle,
        MD5OfBody: createHash('md5').update(message.body).digest('hex'),
        Body: message.body,
      });
    }
    return received.length > 0 ? { Messages: received } : {};
  };

  readonly deleteMessage = async (input: DeleteMessageInput): Promise<Record<string, never>> => {
    this.checkUrl(input.QueueUrl);
    if (!/^[A-Za-z0-9_-]{16,}$/.test(input.ReceiptHandle ?? '')) {
      throw new TaskError(
        'Sqs.ReceiptHandleIsInvalidException',
        `The input receipt handle "${input.ReceiptHandle}" is not valid.`,
      );
    }
    const message = this.messages.find((candidate) => candidate.receiptHandle === input.ReceiptHandle);
    if (message) this.remove(message);
    return {};
  };

  readonly getQueueAttributes = async (
    input: GetQueueAttributesInput,
  ): Promise<{ Attributes: Record<string, string> }> => {
    this.checkUrl(input.QueueUrl);
    const unknown = input.AttributeNames.filter((name) => !(ATTRIBUTES as readonly string[]).includes(name));
    if (unknown.length > 0) {
      throw new TaskError('Sqs.InvalidAttributeNameException', `Unknown Attribute ${unknown.join(', ')}.`);
    }
    const counts = this.counts();
    const values: Record<(typeof ATTRIBUTES)[number], string> = {
      ApproximateNumberOfMessages: String(counts.visible),
      ApproximateNumberOfMessagesNotVisible: String(counts.inFlight),
    };
    return {
      Attributes: Object.fromEntries(
        input.AttributeNames.map((name) => [name, values[name as keyof typeof values]]),
      ),
    };
  };

  /** Messages that a receive would return now, and those hidden by a visibility timeout. */
  counts(): { visible: number; inFlight: number } {
    const now = this.now();
    const visible = this.messages.filter((message) => message.visibleAt <= now).length;
    return { visible, inFlight: this.messages.length - visible };
  }

  /** Bodies of every message still in the queue, visible or not. */
  bodies(): string[] {
    return this.messages.map((message) => message.body);
  }

  private remove(message: StoredMessage): void {
    this.messages.splice(this.messages.indexOf(message), 1);
  }

  private checkUrl(url: string): void {
    if (url !== this.url) {
      throw new TaskError('Sqs.QueueDoesNotExistException', `The specified queue does not exist: ${url}`);
    }
  }
}
