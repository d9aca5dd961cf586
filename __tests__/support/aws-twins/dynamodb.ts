import { isDeepStrictEqual } from 'node:util';
import { TaskError } from './errors';

/** A DynamoDB attribute value in the wire format (`{"S": "..."}`, `{"N": "1"}`, ...). */
export type AttributeValue = Readonly<Record<string, unknown>>;
export type Item = Readonly<Record<string, AttributeValue>>;

interface WriteInput {
  readonly TableName: string;
  readonly ConditionExpression?: string;
  readonly ExpressionAttributeValues?: Record<string, AttributeValue>;
}
export interface PutItemInput extends WriteInput {
  readonly Item: Item;
}
export interface KeyInput extends WriteInput {
  readonly Key: Item;
  readonly ConsistentRead?: boolean;
}

/** "The maximum item size in DynamoDB is 400 KB, which includes both attribute name binary length and
 * attribute value lengths" (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html). */
const MAX_ITEM_BYTES = 400 * 1024;

/** The condition forms the drain uses; anything else is refused rather than half-evaluated. */
const NOT_EXISTS = /^attribute_not_exists\(\s*([A-Za-z_][A-Za-z0-9_]*)\s*\)$/;
const EXISTS = /^attribute_exists\(\s*([A-Za-z_][A-Za-z0-9_]*)\s*\)$/;
const EQUALS = /^([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(:[A-Za-z0-9_]+)$/;

/** Attribute values compare by content (the values Step Functions hands over may lack a prototype). */
const sameValue = (a: unknown, b: unknown) =>
  isDeepStrictEqual(JSON.parse(JSON.stringify(a ?? null)), JSON.parse(JSON.stringify(b ?? null)));

const validation = (message: string) => new TaskError('DynamoDB.ValidationException', message);

function itemBytes(item: Item): number {
  return Object.entries(item).reduce(
    (total, [name, value]) => total + Buffer.byteLength(name) + Buffer.byteLength(JSON.stringify(value)),
    0,
  );
}

/**
 * In-memory twin of a DynamoDB table with a string partition key, answering the Step Functions DynamoDB
 * integration (`putItem`, `getItem`, `deleteItem`) with DynamoDB's conditional-write semantics: the
 * condition is evaluated against the item as it is at that instant and the write is atomic with it; a
 * false condition writes nothing and fails with `ConditionalCheckFailedException`
 * (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Expressions.ConditionExpressions.html).
 */
export class LocalDynamoTable {
  private readonly items = new Map<string, Item>();

  constructor(
    readonly tableName: string,
    readonly partitionKey: string,
  ) {}

  readonly putItem = async (input: PutItemInput): Promise<Record<string, never>> => {
    const key = this.keyOf(input, input.Item);
    if (itemBytes(input.Item) > MAX_ITEM_BYTES)
      throw validation('Item size has exceeded the maximum allowed size');
    this.check(input, this.items.get(key));
    this.items.set(key, structuredClone(input.Item));
    return {};
  };

  readonly getItem = async (input: KeyInput): Promise<{ Item?: Item }> => {
    this.checkKeyOnly(input);
    const item = this.items.get(this.keyOf(input, input.Key));
    return item ? { Item: structuredClone(item) } : {};
  };

  readonly deleteItem = async (input: KeyInput): Promise<Record<string, never>> => {
    this.checkKeyOnly(input);
    const key = this.keyOf(input, input.Key);
    this.check(input, this.items.get(key));
    this.items.delete(key);
    return {};
  };

  /** The item under a key, as a strongly consistent read would see it. */
  peek(key: string): Item | undefined {
    return this.items.get(key);
  }

  private keyOf(input: { TableName: string }, item: Item): string {
    if (input.TableName !== this.tableName) {
      throw new TaskError(
        'DynamoDB.ResourceNotFoundException',
        `Requested resource not found: ${input.TableName}`,
      );
    }
    const value = item[this.partitionKey]?.S;
    if (typeof value !== 'string' || value === '') {
      throw validation('One of the required keys was not given a value');
    }
    return value;
  }

  private checkKeyOnly(input: KeyInput): void {
    const extra = Object.keys(input.Key).filter((name) => name !== this.partitionKey);
    if (extra.length > 0) throw validation('The provided key element does not match the schema');
  }

  /** Evaluates the condition on the current item; throws the integration's error when it is false. */
  private check(input: WriteInput, current: Item | undefined): void {
    const values = input.ExpressionAttributeValues ?? {};
    const expression = input.ConditionExpression?.trim();
    if (expression === undefined) {
      if (Object.keys(values).length > 0) {
        throw validation('ExpressionAttributeValues can only be specified when using expressions');
      }
      return;
    }
    let holds: boolean;
    let used: string[] = [];
    const notExists = NOT_EXISTS.exec(expression);
    const exists = EXISTS.exec(expression);
    const equals = EQUALS.exec(expression);
    if (notExists?.[1]) holds = current?.[notExists[1]] === undefined;
    else if (exists?.[1]) holds = current?.[exists[1]] !== undefined;
    else if (equals?.[1] && equals[2]) {
      const expected = values[equals[2]];
      if (expected === undefined) {
        throw validation(`An expression attribute value used in expression is not defined: ${equals[2]}`);
      }
      used = [equals[2]];
      holds = current?.[equals[1]] !== undefined && sameValue(current[equals[1]], expected);
    } else {
      throw new Error(
        `the local DynamoDB twin evaluates attribute_not_exists(a), attribute_exists(a) and a = :v only, not: ${expression}`,
      );
    }
    const unused = Object.keys(values).filter((name) => !used.includes(name));
    if (unused.length > 0) {
      throw validation(
        `Value provided in ExpressionAttributeValues unused in expressions: keys: {${unused.join(', ')}}`,
      );
    }
    if (!holds)
      throw new TaskError('DynamoDB.ConditionalCheckFailedException', 'The conditional request failed');
  }
}
