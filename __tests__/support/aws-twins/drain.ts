import '../../../local/polyfills';
import { randomUUID } from 'node:crypto';
import { StateMachine, type StateMachineDefinition } from 'aws-local-stepfunctions';
import type { AslState } from '../../../workflow/definition';
import { DRAIN_RESOURCES, type DrainDefinition } from '../../../workflow/drain-definition';
import type { LocalDynamoTable } from './dynamodb';
import type { LocalSqsQueue } from './sqs';
import type { LocalStepFunctions } from './step-functions';

type Handler = (input: never) => Promise<unknown>;

/** The account a local drain runs in: the twins of the lock table, the queue and Step Functions. */
export interface DrainWorld {
  readonly table: LocalDynamoTable;
  readonly queue: LocalSqsQueue;
  readonly stepFunctions: LocalStepFunctions;
  readonly drainStateMachineArn: string;
  /** One pipeline execution (the child) on its input; resolves to its output, throws when it fails. */
  readonly runPipeline: (input: unknown, executionArn: string) => Promise<unknown>;
}

export interface DrainRun {
  readonly executionArn: string;
  /** Top-level states in the order the execution entered them. */
  readonly states: string[];
  readonly result: Promise<'SUCCEEDED' | 'FAILED'>;
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
 * Runs executions of the real drain definition on aws-local-stepfunctions, each Task answered by the
 * twin of the service its Resource names, with the same Retry and Catch as in AWS (retry waits skipped).
 * Drains started here (and the successors a drain starts) run concurrently on the event loop.
 */
export class LocalDrains {
  readonly runs: DrainRun[] = [];
  private readonly machine: StateMachine;
  private readonly handlers: Record<string, Handler>;
  private readonly noWait: Record<string, number>;

  constructor(
    private readonly world: DrainWorld,
    definition: DrainDefinition,
  ) {
    this.machine = new StateMachine(definition as unknown as StateMachineDefinition, {
      validationOptions: { checkArn: true, checkPaths: true },
    });
    // Looked up at each call, so a test may replace one twin's method (to inject a fault or a race).
    const { table, queue, stepFunctions } = world;
    const runChild = stepFunctions.startExecutionSync((input, arn) => world.runPipeline(input, arn));
    const byResource: Record<string, Handler> = {
      [DRAIN_RESOURCES.putItem]: (input) => table.putItem(input),
      [DRAIN_RESOURCES.getItem]: (input) => table.getItem(input),
      [DRAIN_RESOURCES.deleteItem]: (input) => table.deleteItem(input),
      [DRAIN_RESOURCES.describeExecution]: (input) => stepFunctions.describeExecution(input),
      [DRAIN_RESOURCES.startExecutionSync]: (input) => runChild(input),
      [DRAIN_RESOURCES.startExecution]: async (input: { StateMachineArn: string }) => {
        if (input.StateMachineArn !== world.drainStateMachineArn) {
          throw new Error(`the local drain starts only itself, not ${input.StateMachineArn}`);
        }
        const run = this.start();
        return { ExecutionArn: run.executionArn, StartDate: new Date().toISOString() };
      },
      [DRAIN_RESOURCES.receiveMessage]: (input) => queue.receiveMessage(input),
      [DRAIN_RESOURCES.deleteMessage]: (input) => queue.deleteMessage(input),
      [DRAIN_RESOURCES.getQueueAttributes]: (input) => queue.getQueueAttributes(input),
    };
    const tasks = taskStates(definition.States);
    this.handlers = Object.fromEntries(
      tasks.map(([name, resource]) => {
        const handler = byResource[resource];
        if (!handler) throw new Error(`no local twin answers ${resource} (state ${name})`);
        return [name, handler];
      }),
    );
    this.noWait = Object.fromEntries(tasks.map(([name]) => [name, 0]));
  }

  /** Starts one drain execution, as the bronze rule (or the schedule) does, with empty input. */
  start(): DrainRun {
    const name = randomUUID();
    const executionArn = this.world.stepFunctions.start(this.world.drainStateMachineArn, name, {});
    const execution = this.machine.run({} as never, {
      overrides: { taskResourceLocalHandlers: this.handlers as never, retryIntervalOverrides: this.noWait },
      context: {
        Execution: { Id: executionArn, Name: name },
        StateMachine: {
          Id: this.world.drainStateMachineArn,
          Name: this.world.drainStateMachineArn.split(':').at(-1),
        },
      },
    });
    const states: string[] = [];
    const logged = (async () => {
      for await (const event of execution.eventLogs) {
        if (event.type === 'StateEntered') states.push(event.state.name);
      }
    })();
    const result = execution.result.then(
      async (output: unknown) => {
        this.world.stepFunctions.finish(executionArn, 'SUCCEEDED', { output });
        await logged;
        return 'SUCCEEDED' as const;
      },
      async (error: Error) => {
        this.world.stepFunctions.finish(executionArn, 'FAILED', { error: error.name, cause: error.message });
        await logged.catch(() => undefined);
        return 'FAILED' as const;
      },
    );
    const run = { executionArn, states, result };
    this.runs.push(run);
    return run;
  }

  /** Waits until every drain started so far, and every successor they start, has ended. */
  async settled(): Promise<void> {
    for (let seen = 0; seen < this.runs.length; seen += 1) await this.runs[seen]?.result;
  }
}
