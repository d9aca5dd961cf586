import { randomUUID } from 'node:crypto';
import { TaskError } from './errors';

export type ExecutionStatus =
  | 'RUNNING'
  | 'SUCCEEDED'
  | 'FAILED'
  | 'TIMED_OUT'
  | 'ABORTED'
  | 'PENDING_REDRIVE';

interface ExecutionRecord {
  readonly arn: string;
  readonly stateMachineArn: string;
  readonly name: string;
  readonly input: unknown;
  readonly startDate: Date;
  status: ExecutionStatus;
  stopDate?: Date;
  output?: unknown;
  error?: string;
  cause?: string;
  /** Settles when the execution closes. */
  readonly closed: Promise<void>;
  close: () => void;
}

/** The DescribeExecution response as an AWS SDK integration returns it (PascalCase fields). */
export interface DescribedExecution {
  readonly ExecutionArn: string;
  readonly StateMachineArn: string;
  readonly Name: string;
  readonly Status: ExecutionStatus;
  readonly StartDate: string;
  readonly StopDate?: string;
  readonly Input: string;
  readonly Output?: string;
  readonly Error?: string;
  readonly Cause?: string;
}

/** How a child run that throws these ended: its timeout, or StopExecution (tests throw them to say so). */
const ENDED_BY: Record<string, ExecutionStatus> = {
  'States.Timeout': 'TIMED_OUT',
  'States.Aborted': 'ABORTED',
};

/**
 * Execution names: 1 to 80 characters, none of whitespace, `< > { } [ ] ? * " # % \ ^ | ~ ` $ & , ; : /`
 * or control characters (https://docs.aws.amazon.com/step-functions/latest/apireference/API_StartExecution.html).
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what the rule refuses.
const INVALID_NAME = /[\s<>{}[\]?*"#%\\^|~`$&,;:/\u0000-\u001f\u007f-\u009f]/;

/**
 * In-memory twin of the Step Functions executions the drain sees: every execution by ARN with its
 * status, `describeExecution` (AWS SDK integration), and `startExecution.sync:2` (optimized
 * integration) with StartExecution's name rules: a name is unique per state machine; for a Standard
 * workflow, the same name and input as a running execution attaches to it, and a closed one (or other
 * input) is refused with ExecutionAlreadyExists (API_StartExecution).
 */
export class LocalStepFunctions {
  private readonly executions = new Map<string, ExecutionRecord>();

  constructor(
    readonly region = 'eu-west-1',
    readonly accountId = '123456789012',
  ) {}

  stateMachineArn(name: string): string {
    return `arn:aws:states:${this.region}:${this.accountId}:stateMachine:${name}`;
  }

  /** Registers a RUNNING execution; refuses an invalid or already used name. */
  start(stateMachineArn: string, name: string, input: unknown): string {
    if (name.length < 1 || name.length > 80 || INVALID_NAME.test(name)) {
      throw new TaskError('StepFunctions.InvalidNameException', `Invalid Name: '${name}'`);
    }
    const machineName = stateMachineArn.split(':').at(-1);
    const arn = `arn:aws:states:${this.region}:${this.accountId}:execution:${machineName}:${name}`;
    if (this.executions.has(arn)) {
      throw new TaskError(
        'StepFunctions.ExecutionAlreadyExistsException',
        `Execution Already Exists: '${arn}'`,
      );
    }
    let close!: () => void;
    const closed = new Promise<void>((resolve) => {
      close = resolve;
    });
    this.executions.set(arn, {
      arn,
      stateMachineArn,
      name,
      input,
      startDate: new Date(),
      status: 'RUNNING',
      closed,
      close,
    });
    return arn;
  }

  /** Closes an execution with its final status (or sets any status a test needs, e.g. a dead holder). */
  finish(
    arn: string,
    status: ExecutionStatus,
    result: { output?: unknown; error?: string; cause?: string } = {},
  ) {
    const record = this.record(arn);
    record.status = status;
    if (status !== 'RUNNING' && status !== 'PENDING_REDRIVE') {
      record.stopDate = new Date();
      Object.assign(record, result);
      record.close();
    }
  }

  status(arn: string): ExecutionStatus {
    return this.record(arn).status;
  }

  /** Every execution of one state machine, in start order. */
  executionsOf(stateMachineArn: string): DescribedExecution[] {
    return [...this.executions.values()]
      .filter((record) => record.stateMachineArn === stateMachineArn)
      .map((record) => this.describe(record));
  }

  readonly describeExecution = async (input: { ExecutionArn: string }): Promise<DescribedExecution> =>
    this.describe(this.record(input.ExecutionArn));

  /**
   * The `states:startExecution.sync:2` handler: starts the child (`run` does its work), waits for it, and
   * returns DescribeExecution with `Output` as JSON; a child that fails fails the task with
   * `States.TaskFailed` and the description as cause
   * (https://docs.aws.amazon.com/step-functions/latest/dg/connect-stepfunctions.html).
   */
  startExecutionSync(run: (input: unknown, executionArn: string) => Promise<unknown>) {
    return async (parameters: { StateMachineArn: string; Name?: string; Input?: unknown }) => {
      const name = parameters.Name ?? randomUUID();
      const input = parameters.Input ?? {};
      const machineName = parameters.StateMachineArn.split(':').at(-1);
      const existing = this.executions.get(
        `arn:aws:states:${this.region}:${this.accountId}:execution:${machineName}:${name}`,
      );
      let arn: string;
      if (existing?.status === 'RUNNING' && JSON.stringify(existing.input) === JSON.stringify(input)) {
        arn = existing.arn;
        await existing.closed;
      } else {
        arn = this.start(parameters.StateMachineArn, name, input);
        try {
          this.finish(arn, 'SUCCEEDED', { output: (await run(input, arn)) ?? {} });
        } catch (error) {
          const failure = error as Error;
          this.finish(arn, ENDED_BY[failure.name] ?? 'FAILED', {
            error: failure.name,
            cause: failure.message,
          });
        }
      }
      const described = this.describe(this.record(arn));
      if (described.Status !== 'SUCCEEDED')
        throw new TaskError('States.TaskFailed', JSON.stringify(described));
      return { ...described, Input: input, Output: JSON.parse(described.Output ?? '{}') as unknown };
    };
  }

  private describe(record: ExecutionRecord): DescribedExecution {
    return {
      ExecutionArn: record.arn,
      StateMachineArn: record.stateMachineArn,
      Name: record.name,
      Status: record.status,
      StartDate: record.startDate.toISOString(),
      ...(record.stopDate ? { StopDate: record.stopDate.toISOString() } : {}),
      Input: JSON.stringify(record.input),
      ...(record.output === undefined ? {} : { Output: JSON.stringify(record.output) }),
      ...(record.error === undefined ? {} : { Error: record.error, Cause: record.cause ?? '' }),
    };
  }

  private record(arn: string): ExecutionRecord {
    const record = this.executions.get(arn);
    if (!record)
      throw new TaskError('Sfn.ExecutionDoesNotExistException', `Execution Does Not Exist: '${arn}'`);
    return record;
  }
}
