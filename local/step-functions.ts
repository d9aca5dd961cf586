import './polyfills';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';

export type { StateMachineDefinition } from 'aws-local-stepfunctions';

type Library = typeof import('aws-local-stepfunctions');

/**
 * Step Functions passes at most 256 KiB of UTF-8 between states: a state whose input (after its
 * Parameters) or output is larger fails the execution with States.DataLimitExceeded, which `States.ALL`
 * does not catch (https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html, "Maximum input
 * or output size for a task, state, or execution"; https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html,
 * "States.DataLimitExceeded" and "States.ALL"). aws-local-stepfunctions 3.0 has no such limit.
 */
export const MAX_STATE_DATA_BYTES = 256 * 1024;

/**
 * aws-local-stepfunctions 3.0, patched where it departs from AWS, chiefly in its intrinsic functions
 * (https://docs.aws.amazon.com/step-functions/latest/dg/intrinsic-functions.html):
 * - States.Base64Encode/Base64Decode use `btoa`/`atob`, which take Latin-1 only ("Invalid character"
 *   for 東京, a wrong byte for é); AWS encodes the string's UTF-8 bytes.
 * - A Map's result (the array of its iterations' outputs) was not held to the 256 KiB state-data limit.
 * - Every intrinsic's string result had all its backslashes removed, a value's included (a key
 *   `back\slash.csv` became `backslash.csv`); AWS treats a backslash as an escape only inside a string
 *   literal argument ("Reserved characters in intrinsic functions": ' { } \ are escaped with \). Here
 *   literal arguments are unescaped, States.Format's template honours its escapes, values pass as they are.
 * Each patch must match the library's text exactly once, or loading fails: a new version of the
 * library is checked again rather than silently left unpatched.
 */
const PATCHES: readonly { readonly find: string; readonly replace: string }[] = [
  { find: 'return btoa(str);', replace: 'return Buffer.from(str, "utf8").toString("base64");' },
  { find: 'return atob(str);', replace: 'return Buffer.from(str, "base64").toString("utf8");' },
  {
    find: String.raw`    let result = this.execute(...parsedArgs);
    if (typeof result === "string") {
      result = result.replaceAll("\\", "");
    }
    return result;`,
    replace: String.raw`    const values = this.funcDefinition.name === "States.Format" ? parsedArgs : parsedArgs.map(
      (value, i) => (args[i][0] === "'" ? value.replace(/\\(.)/gs, "$1") : value)
    );
    return this.execute(...values);`,
  },
  {
    find: String.raw`    const placeholdersNumber = templateStr.match(/\{\}/g)?.length ?? 0;
    if (placeholdersNumber !== placeholderValues.length) {`,
    replace: String.raw`    let formatted = "";
    let used = 0;
    for (let k = 0; k < templateStr.length; k++) {
      if (templateStr[k] === "\\" && k + 1 < templateStr.length) {
        formatted += templateStr[++k];
      } else if (templateStr[k] === "{" && templateStr[k + 1] === "}") {
        formatted += used < placeholderValues.length ? String(placeholderValues[used]) : "{}";
        used++;
        k++;
      } else {
        formatted += templateStr[k];
      }
    }
    if (used === placeholderValues.length) return formatted;
    {`,
  },
  {
    // A Map's result (the array of its iterations' outputs) is a state result like any other, held to
    // the same 256 KiB before its ResultSelector and ResultPath apply.
    find: `      const result = await Promise.all(processedItemsPromise);
      return this.buildExecutionResult(result);`,
    replace: `      const result = await Promise.all(processedItemsPromise);
      const bytes = Buffer.byteLength(JSON.stringify(result), "utf8");
      if (bytes > ${MAX_STATE_DATA_BYTES}) {
        throw Object.assign(
          new Error("The state/task '" + this.stateName + "' result of " + bytes + " bytes exceeds the maximum number of bytes service limit (${MAX_STATE_DATA_BYTES})."),
          { name: "States.DataLimitExceeded", isCatchable: false, isRetryable: false }
        );
      }
      return this.buildExecutionResult(result);`,
  },
];

function loadPatchedLibrary(): Library {
  const file = require.resolve('aws-local-stepfunctions');
  let source = readFileSync(file, 'utf8');
  for (const { find, replace } of PATCHES) {
    const at = source.indexOf(find);
    if (at < 0 || source.indexOf(find, at + 1) >= 0) {
      throw new Error(`local/step-functions.ts: a patch does not match ${file} exactly once: ${find}`);
    }
    source = source.slice(0, at) + replace + source.slice(at + find.length);
  }
  // Evaluated as CommonJS in this realm (so the polyfills above apply to it), its own dependencies
  // required from where the library sits.
  const loaded = { exports: {} };
  const wrapper = new Function('exports', 'require', 'module', '__filename', '__dirname', source);
  wrapper(loaded.exports, createRequire(file), loaded, file, dirname(file));
  return loaded.exports as Library;
}

const library = loadPatchedLibrary();
export const { ExecutionAbortedError, ExecutionError, StateMachine } = library;
export type StateMachine = InstanceType<Library['StateMachine']>;

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
 * A Map's raw result array is checked by the last patch above, before its ResultPath applies.
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
