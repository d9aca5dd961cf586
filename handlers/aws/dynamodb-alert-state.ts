import { type DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import type { AlertState, AlertStateStore } from '../ports';

/** Alert state in DynamoDB: one item per window, partition key `window_key` (string). */
export class DynamoDbAlertStateStore implements AlertStateStore {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  async get(windowKey: string): Promise<AlertState | undefined> {
    const { Item } = await this.client.send(
      new GetItemCommand({
        TableName: this.tableName,
        Key: { window_key: { S: windowKey } },
        ConsistentRead: true,
      }),
    );
    if (!Item) return undefined;
    const status = Item.status?.S;
    return {
      windowKey,
      status: status === 'resolved' ? 'resolved' : 'open',
      fingerprint: Item.fingerprint?.S ?? '',
      updatedAt: Item.updated_at?.S ?? '',
    };
  }

  async put(state: AlertState): Promise<void> {
    await this.client.send(
      new PutItemCommand({
        TableName: this.tableName,
        Item: {
          window_key: { S: state.windowKey },
          status: { S: state.status },
          fingerprint: { S: state.fingerprint },
          updated_at: { S: state.updatedAt },
        },
      }),
    );
  }
}
