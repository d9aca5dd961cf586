import './polyfills';
import { StateMachine } from 'aws-local-stepfunctions';

export {
  ExecutionAbortedError,
  ExecutionError,
  StateMachine,
  type StateMachineDefinition,
} from 'aws-local-stepfunctions';

/**
 * Step Functions passes at most 256 KiB of UTF-8 between states: a state whose input (after its
 * Parameters) or output is larger fails the execution with States.DataLimitExceeded, which `States.ALL`
 * does not catch (https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html, "Maximum input
 * or output size for a task, state, or execution"; https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html,
 * "States.DataLimitExceeded" and "States.ALL"). aws-local-stepfunctions 3.0 has no such limit.
 */
export const MAX_STATE_DATA_BYTES = 256 * 1024;

export const DATA_LIMIT_EXCEEDED = 'States.DataLimitExceeded';

/** aws-local-stepfunctions reads `isCatchable` and `isRetryable` to let an error pass Catch and Retry. */
class DataLimitExceededError extends Error {
  readonly isCatchable = false;
  readonly isRetryable = false;
  constructor(message: string) {
    super(message);
    this.name = DATA_LIMIT_EXCEEDED;
  }
}

/** The bytes Step Functions counts: the state's data as a UTF-8 JSON string. */
export function stateDataBytes(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value ?? null), 'utf8');
}

function checkSize(state: string, what: string, value: unknown): void {
  const bytes = stateDataBytes(value);
  if (bytes > MAX_STATE_DATA_BYTES) {
    throw new DataLimitExceededError(
      `The state/task '${state}' ${what} of ${bytes} bytes exceeds the maximum number of bytes service limit (${MAX_STATE_DATA_BYTES}).`,
    );
  }
}

interface EventLogger {
  dispatchStateEnteredEvent(state: string, type: string, input: unknown): void;
  dispatchStateExitedEvent(state: string, type: string, input: unknown, output: unknown): void;
}
type Execute = (
  this: unknown,
  input: unknown,
  options: { eventLogger: EventLogger },
  cleanup: unknown,
) => unknown;

/**
 * The library runs every state (a Map's iterations too, through nested StateMachine instances) in the
 * private `execute` of StateMachine, which reports each state's input as it enters and its output as it
 * leaves to the execution's event logger; an error thrown there fails the execution outside any Catch,
 * as AWS fails it. The check wraps that logger, once per execution, for every StateMachine in the process.
 * Not checked: the raw result array a Map collects before its ResultPath (the project's definitions have
 * no Map; the drain takes one message per round).
 */
const prototype = StateMachine.prototype as unknown as { execute: Execute; payloadLimitInstalled?: true };
if (!prototype.payloadLimitInstalled) {
  const execute = prototype.execute;
  prototype.execute = function limitedExecute(input, options, cleanup) {
    const logger = options.eventLogger;
    const entered = logger.dispatchStateEnteredEvent.bind(logger);
    const exited = logger.dispatchStateExitedEvent.bind(logger);
    logger.dispatchStateEnteredEvent = (state, type, data) => {
      checkSize(state, 'input', data);
      entered(state, type, data);
    };
    logger.dispatchStateExitedEvent = (state, type, data, output) => {
      checkSize(state, 'output', output);
      exited(state, type, data, output);
    };
    return execute.call(this, input, options, cleanup);
  };
  prototype.payloadLimitInstalled = true;
}
