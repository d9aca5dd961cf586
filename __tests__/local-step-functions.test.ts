import {
  DATA_LIMIT_EXCEEDED,
  ExecutionError,
  MAX_STATE_DATA_BYTES,
  StateMachine,
  type StateMachineDefinition,
} from '../local/step-functions';

/** Runs a definition with every Task answered by `task`; resolves to the output or the execution's error. */
async function run(definition: object, task: (input: unknown) => Promise<unknown> = async (x) => x) {
  const machine = new StateMachine(definition as StateMachineDefinition);
  const handlers = Object.fromEntries(
    Object.keys((definition as { States: object }).States).map((name) => [name, task]),
  );
  const execution = machine.run({} as never, {
    overrides: { taskResourceLocalHandlers: handlers as never },
  });
  try {
    return { output: await execution.result };
  } catch (error) {
    if (!(error instanceof ExecutionError)) throw error;
    const cause = (error as { cause?: Error }).cause;
    return { error: cause?.name, cause: cause?.message };
  }
}

const caughtIntoRecovered = [{ ErrorEquals: ['States.ALL'], ResultPath: '$.caught', Next: 'Recovered' }];

// "Maximum input or output size for a task, state, or execution: 256 KiB of data as a UTF-8 encoded
// string" (https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html), and "States.ALL ...
// can't catch the States.DataLimitExceeded terminal error" (concepts-error-handling.html).
describe('the local Step Functions runner enforces the 256 KiB state-data limit as AWS does', () => {
  test('a task output over 256 KiB of UTF-8 fails the execution with States.DataLimitExceeded, past its States.ALL catch', async () => {
    // 100,000 three-byte characters: 300,000 bytes of UTF-8 but 100,000 UTF-16 units.
    const result = await run(
      {
        StartAt: 'Big',
        States: {
          Big: {
            Type: 'Task',
            Resource: 'arn:aws:lambda:us-east-1:123456789012:function:big',
            Catch: caughtIntoRecovered,
            End: true,
          },
          Recovered: { Type: 'Pass', End: true },
        },
      },
      async () => ({ text: '東'.repeat(100_000) }),
    );
    expect(result).toEqual({
      error: DATA_LIMIT_EXCEEDED,
      cause: expect.stringMatching(/'Big' output of 300\d{3} bytes/),
    });
  });

  test('just under the limit passes; counted as UTF-8 JSON', async () => {
    const text = 'x'.repeat(MAX_STATE_DATA_BYTES - '{"text":""}'.length);
    const result = await run(
      {
        StartAt: 'Fits',
        States: {
          Fits: { Type: 'Task', Resource: 'arn:aws:lambda:us-east-1:123456789012:function:f', End: true },
        },
      },
      async () => ({ text }),
    );
    expect(result).toEqual({ output: { text } });
  });
});
