import { randomUUID } from 'node:crypto';
import {
  CreateTableCommand,
  DeleteItemCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import {
  CreateQueueCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import type { Emulator } from '../../../emulator/moto';
import { StateMachine, type StateMachineDefinition } from '../../../local/step-functions';
import { maintenancePlan } from '../../../stacks/constructs/maintenance';
import { MAX_RECEIVE_COUNT } from '../../../stacks/constructs/serialization';
import type { AslState } from '../../../workflow/definition';
import {
  buildDrainDefinition,
  DRAIN_RESOURCES,
  type DrainDefinition,
  LOCK_ID,
} from '../../../workflow/drain-definition';
import { TaskError } from './errors';
import { LocalStepFunctions } from './step-functions';

type Handler = (input: never) => Promise<unknown>;

export interface DrainAccountOptions {
  /** One pipeline execution (the child) on its input; resolves to its output, throws when it fails. */
  readonly runPipeline: (input: unknown, executionName: string) => Promise<unknown>;
  /** The run-failed Lambda's handler (handlers/run-failed/), invoked by the drain with its Payload. */
  readonly runFailed: (payload: unknown) => Promise<unknown>;
  /** The child's timeout the drain is built for; the pipeline definition's own by default. */
  readonly pipelineTimeoutSeconds: number;
}

export interface DrainRun {
  readonly executionArn: string;
  /** Top-level states in the order the execution entered them. */
  readonly states: string[];
  readonly result: Promise<'SUCCEEDED' | 'FAILED'>;
  /** The error of a FAILED drain, as its Fail state or the runtime reported it. */
  error?: string;
}

/** Every Task state of a definition, Map item processors included, with its Resource. */
function taskStates(states: Record<string, AslState>): [string, string][] {
  return Object.entries(states).flatMap(([name, state]) => {
    const nested = (state.ItemProcessor as { States?: Record<string, AslState> } | undefined)?.States;
    const own: [string, string][] = state.Type === 'Task' ? [[name, String(state.Resource)]] : [];
    return [...own, ...(nested ? taskStates(nested) : [])];
  });
}

/**
 * A service error as a Step Functions task reports it: `DynamoDB.<Exception>` for the optimized DynamoDB
 * integration (connect-ddb), `<Service>.<Name>Exception` for the AWS SDK integrations
 * (https://docs.aws.amazon.com/step-functions/latest/dg/supported-services-awssdk.html).
 */
async function asTask<T extends object>(
  service: string,
  call: () => Promise<T>,
): Promise<Omit<T, '$metadata'>> {
  try {
    const { $metadata: _, ...answer } = (await call()) as T & { $metadata?: unknown };
    return answer;
  } catch (error) {
    const { name, message } = error as Error;
    throw new TaskError(`${service}.${name.endsWith('Exception') ? name : `${name}Exception`}`, message);
  }
}

/**
 * One account for drains: the lock table and the pending-objects queue (with its dead-letter queue and
 * the stack's redrive policy) in moto, an AWS API emulator written by others, reached through the real
 * AWS SDK clients; pipeline executions in LocalStepFunctions (moto cannot run the child on DuckDB); and
 * the real drain definition on aws-local-stepfunctions (with the 256 KiB state-data limit of
 * local/step-functions.ts), each Task answered by the service its Resource names, with the same Retry and
 * Catch as in AWS (retry waits skipped). Drains started here (and the successors a drain starts) run
 * concurrently on the event loop.
 */
export class DrainAccount {
  readonly runs: DrainRun[] = [];
  readonly stepFunctions = new LocalStepFunctions();
  readonly drainArn = this.stepFunctions.stateMachineArn('agent-etl-test-drain');
  readonly pipelineArn = this.stepFunctions.stateMachineArn('agent-etl-test-pipeline');
  readonly runFailedArn = 'arn:aws:lambda:us-east-1:123456789012:function:agent-etl-test-run-failed';
  readonly alertTopicArn = 'arn:aws:sns:us-east-1:123456789012:agent-etl-test-alerts';
  /** Test hooks: replace to inject a fault or a race (looked up at each call). */
  readonly hooks: {
    receive: (input: Record<string, unknown>) => Promise<unknown>;
    deleteMessage: (input: Record<string, unknown>) => Promise<unknown>;
    startChild: (input: { StateMachineArn: string; Name?: string; Input?: unknown }) => Promise<unknown>;
    /** Athena's StartQueryExecution (.sync) for maintenance statements; a test answers it. */
    athena: (input: { QueryString: string; WorkGroup: string }) => Promise<unknown>;
  };
  /** What the drain published to the alert topic (SNS Publish requests). */
  readonly published: Record<string, unknown>[] = [];
  private machine?: StateMachine;
  private handlers: Record<string, Handler> = {};
  private noWait: Record<string, number> = {};

  private constructor(
    readonly dynamodb: DynamoDBClient,
    readonly sqs: SQSClient,
    readonly tableName: string,
    readonly queueUrl: string,
    readonly deadLetterQueueUrl: string,
    private readonly options: DrainAccountOptions,
  ) {
    const runChild = this.stepFunctions.startExecutionSync((input, arn) =>
      options.runPipeline(input, arn.split(':').at(-1) ?? arn),
    );
    this.hooks = {
      receive: (input) =>
        // moto long-polls in real time; one server sees every message sent, so waiting adds only seconds.
        asTask('Sqs', () => sqs.send(new ReceiveMessageCommand({ ...input, WaitTimeSeconds: 0 } as never))),
      deleteMessage: (input) => asTask('Sqs', () => sqs.send(new DeleteMessageCommand(input as never))),
      startChild: (input) => runChild(input),
      athena: async (input) => {
        throw new Error(`this test answers no Athena query (${input.QueryString})`);
      },
    };
  }

  /** Creates the table and queues (names unique to this account) in the emulator. */
  static async create(emulator: Emulator, options: DrainAccountOptions): Promise<DrainAccount> {
    const config = {
      endpoint: emulator.endpoint,
      region: emulator.env.AWS_REGION,
      credentials: {
        accessKeyId: emulator.env.AWS_ACCESS_KEY_ID ?? '',
        secretAccessKey: emulator.env.AWS_SECRET_ACCESS_KEY ?? '',
      },
    };
    const dynamodb = new DynamoDBClient(config);
    const sqs = new SQSClient(config);
    const suffix = randomUUID().slice(0, 8);
    const tableName = `agent-etl-test-pipeline-lock-${suffix}`;
    await dynamodb.send(
      new CreateTableCommand({
        TableName: tableName,
        BillingMode: 'PAY_PER_REQUEST',
        KeySchema: [{ AttributeName: 'lock_id', KeyType: 'HASH' }],
        AttributeDefinitions: [{ AttributeName: 'lock_id', AttributeType: 'S' }],
      }),
    );
    const dlq = await sqs.send(new CreateQueueCommand({ QueueName: `pending-objects-dlq-${suffix}` }));
    const dlqArn = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: dlq.QueueUrl, AttributeNames: ['QueueArn'] }),
    );
    const queue = await sqs.send(
      new CreateQueueCommand({
        QueueName: `pending-objects-${suffix}`,
        Attributes: {
          RedrivePolicy: JSON.stringify({
            deadLetterTargetArn: dlqArn.Attributes?.QueueArn,
            maxReceiveCount: MAX_RECEIVE_COUNT,
          }),
        },
      }),
    );
    const account = new DrainAccount(
      dynamodb,
      sqs,
      tableName,
      queue.QueueUrl ?? '',
      dlq.QueueUrl ?? '',
      options,
    );
    account.build();
    return account;
  }

  readonly definition = (): DrainDefinition =>
    buildDrainDefinition({
      lockTableName: this.tableName,
      queueUrl: this.queueUrl,
      pipelineStateMachineArn: this.pipelineArn,
      pipelineExecutionArnPrefix: this.pipelineArn.replace(':stateMachine:', ':execution:'),
      pipelineTimeoutSeconds: this.options.pipelineTimeoutSeconds,
      runFailedFunctionArn: this.runFailedArn,
      maintenance: {
        workGroup: 'agent-etl-test',
        database: 'agent_etl_test',
        statements: maintenancePlan(),
        alertTopicArn: this.alertTopicArn,
      },
    });

  private build(): void {
    const definition = this.definition();
    this.machine = new StateMachine(definition as unknown as StateMachineDefinition, {
      validationOptions: { checkArn: true, checkPaths: true },
    });
    const { dynamodb, sqs, stepFunctions } = this;
    const byResource: Record<string, Handler> = {
      [DRAIN_RESOURCES.putItem]: (input) =>
        asTask('DynamoDB', () => dynamodb.send(new PutItemCommand(input))),
      [DRAIN_RESOURCES.getItem]: (input) =>
        asTask('DynamoDB', () => dynamodb.send(new GetItemCommand(input))),
      [DRAIN_RESOURCES.deleteItem]: (input) =>
        asTask('DynamoDB', () => dynamodb.send(new DeleteItemCommand(input))),
      [DRAIN_RESOURCES.describeExecution]: (input) => stepFunctions.describeExecution(input),
      [DRAIN_RESOURCES.startExecutionSync]: (input) => this.hooks.startChild(input),
      [DRAIN_RESOURCES.startExecution]: async (input: { StateMachineArn: string }) => {
        if (input.StateMachineArn !== this.drainArn) {
          throw new Error(`the local drain starts only itself, not ${input.StateMachineArn}`);
        }
        const run = this.start();
        return { ExecutionArn: run.executionArn, StartDate: new Date().toISOString() };
      },
      [DRAIN_RESOURCES.receiveMessage]: (input) => this.hooks.receive(input),
      [DRAIN_RESOURCES.athenaQuery]: (input) => this.hooks.athena(input),
      [DRAIN_RESOURCES.snsPublish]: async (input: Record<string, unknown>) => {
        if (input.TopicArn !== this.alertTopicArn) throw new Error(`no topic ${input.TopicArn}`);
        this.published.push(input);
        return { MessageId: randomUUID() };
      },
      [DRAIN_RESOURCES.deleteMessage]: (input) => this.hooks.deleteMessage(input),
      [DRAIN_RESOURCES.getQueueAttributes]: (input) =>
        asTask('Sqs', () => sqs.send(new GetQueueAttributesCommand(input))),
      // The Lambda integration returns the function's answer as Payload; a function error fails the task
      // with the function's error name (https://docs.aws.amazon.com/step-functions/latest/dg/connect-lambda.html).
      [DRAIN_RESOURCES.lambdaInvoke]: async (input: { FunctionName: string; Payload: unknown }) => {
        if (input.FunctionName !== this.runFailedArn) throw new Error(`no function ${input.FunctionName}`);
        try {
          return { StatusCode: 200, Payload: await this.options.runFailed(input.Payload) };
        } catch (error) {
          const failure = error as Error;
          throw new TaskError(failure.name, failure.message);
        }
      },
    };
    const tasks = taskStates(definition.States);
    this.handlers = Object.fromEntries(
      tasks.map(([name, resource]) => {
        const handler = byResource[resource];
        if (!handler) throw new Error(`no local service answers ${resource} (state ${name})`);
        return [name, handler];
      }),
    );
    this.noWait = Object.fromEntries(Object.keys(definition.States).map((name) => [name, 0]));
  }

  /** What the bronze rule does for one Object Created event: a message, then (unless told) a drain. */
  async objectCreated(body: object, startDrain = true): Promise<DrainRun | undefined> {
    await this.sqs.send(
      new SendMessageCommand({ QueueUrl: this.queueUrl, MessageBody: JSON.stringify(body) }),
    );
    return startDrain ? this.start() : undefined;
  }

  /** Starts one drain execution, as the bronze rule (or the sweep) does, with empty input. */
  start(): DrainRun {
    const name = randomUUID();
    const executionArn = this.stepFunctions.start(this.drainArn, name, {});
    const execution = (this.machine as StateMachine).run({} as never, {
      overrides: {
        taskResourceLocalHandlers: this.handlers as never,
        retryIntervalOverrides: this.noWait,
        waitTimeOverrides: this.noWait,
      },
      context: {
        Execution: { Id: executionArn, Name: name },
        StateMachine: { Id: this.drainArn, Name: this.drainArn.split(':').at(-1) },
      },
    });
    const states: string[] = [];
    const logged = (async () => {
      for await (const event of execution.eventLogs) {
        if (event.type === 'StateEntered') states.push(event.state.name);
      }
    })();
    const run: DrainRun = {
      executionArn,
      states,
      result: execution.result.then(
        async (output: unknown) => {
          this.stepFunctions.finish(executionArn, 'SUCCEEDED', { output });
          await logged;
          return 'SUCCEEDED' as const;
        },
        async (error: Error & { cause?: Error }) => {
          run.error = error.cause?.name ?? error.name;
          this.stepFunctions.finish(executionArn, 'FAILED', { error: run.error, cause: error.message });
          await logged.catch(() => undefined);
          return 'FAILED' as const;
        },
      ),
    };
    this.runs.push(run);
    return run;
  }

  /** Waits until every drain started so far, and every successor they start, has ended. */
  async settled(): Promise<void> {
    for (let seen = 0; seen < this.runs.length; seen += 1) await this.runs[seen]?.result;
  }

  /** The lock item as a strongly consistent read sees it. */
  async lock(): Promise<Record<string, unknown> | undefined> {
    const answer = await this.dynamodb.send(
      new GetItemCommand({
        TableName: this.tableName,
        Key: { lock_id: { S: LOCK_ID } },
        ConsistentRead: true,
      }),
    );
    return answer.Item;
  }

  /** Visible and in-flight messages of a queue (this one by default), as SQS counts them. */
  async counts(queueUrl = this.queueUrl): Promise<{ visible: number; inFlight: number }> {
    const answer = await this.sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: queueUrl,
        AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
      }),
    );
    return {
      visible: Number(answer.Attributes?.ApproximateNumberOfMessages),
      inFlight: Number(answer.Attributes?.ApproximateNumberOfMessagesNotVisible),
    };
  }

  /** Closes the SDK clients' connections to the emulator. */
  close(): void {
    this.dynamodb.destroy();
    this.sqs.destroy();
  }

  /** Takes every visible message of the dead-letter queue and returns the bodies. */
  async deadLetters(): Promise<string[]> {
    const answer = await this.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: this.deadLetterQueueUrl, MaxNumberOfMessages: 10 }),
    );
    return (answer.Messages ?? []).map((message) => message.Body ?? '');
  }
}
