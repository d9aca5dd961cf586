import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { LOCAL_BUCKET, runFile } from '../local/runner';
import {
  DATA_LIMIT_EXCEEDED,
  ExecutionError,
  MAX_STATE_DATA_BYTES,
  StateMachine,
  type StateMachineDefinition,
} from '../local/step-functions';
import { checkStartQueryExecution } from '../local/strict-twin';
import { renderSql, templateParameters } from '../workflow/sql-template';
import { readSql, SQL_DIR } from '../workflow/steps';
import { withLake, writeCsv } from './support/lake';

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

describe("a Map's collected iteration outputs count toward the limit", () => {
  const mapOfCauses = (count: number) => ({
    StartAt: 'Items',
    States: {
      Items: {
        Type: 'Pass',
        Result: Array.from({ length: count }, (_, i) => i),
        ResultPath: '$.items',
        Next: 'Batch',
      },
      Batch: {
        Type: 'Map',
        ItemsPath: '$.items',
        MaxConcurrency: 1,
        ItemProcessor: {
          ProcessorConfig: { Mode: 'INLINE' },
          StartAt: 'Failed',
          States: { Failed: { Type: 'Pass', Result: { Cause: 'y'.repeat(30_000) }, End: true } },
        },
        ResultPath: null,
        Catch: caughtIntoRecovered,
        End: true,
      },
      Recovered: { Type: 'Pass', End: true },
    },
  });

  test('ten iterations with 30 KB causes: the Map fails the execution even with ResultPath null (the shape the drain no longer has)', async () => {
    expect(await run(mapOfCauses(10))).toEqual({
      error: DATA_LIMIT_EXCEEDED,
      cause: expect.stringMatching(/'Batch' result of 300\d{3} bytes/),
    });
  });

  test('eight iterations fit', async () => {
    expect(await run(mapOfCauses(8))).toEqual({ output: { items: [0, 1, 2, 3, 4, 5, 6, 7] } });
  });
});

/** The value of one Pass state's Parameters field, evaluated by the local runner. */
async function evaluate(expression: string, input: Record<string, unknown>): Promise<unknown> {
  const machine = new StateMachine(
    {
      StartAt: 'P',
      States: { P: { Type: 'Pass', Parameters: { 'value.$': expression }, End: true } },
      // The library's own validator refuses escaped literals AWS accepts; evaluation is what is tested.
    } as StateMachineDefinition,
    { validationOptions: { noValidate: true } },
  );
  const output = (await machine.run(input as never).result) as { value: unknown };
  return output.value;
}

// https://docs.aws.amazon.com/step-functions/latest/dg/intrinsic-functions.html: "States.Base64Encode"
// ("Data to encode" gives "RGF0YSB0byBlbmNvZGU="), "States.Base64Decode" ("RGVjb2RlZCBkYXRh" gives
// "Decoded data"), and "Reserved characters in intrinsic functions" (' { } \ escaped with \ in a literal).
describe('the local runner evaluates intrinsics as AWS does', () => {
  test("the documentation's examples", async () => {
    expect(await evaluate('States.Base64Encode($.input)', { input: 'Data to encode' })).toBe(
      'RGF0YSB0byBlbmNvZGU=',
    );
    expect(await evaluate('States.Base64Decode($.base64)', { base64: 'RGVjb2RlZCBkYXRh' })).toBe(
      'Decoded data',
    );
  });

  test.each(['東京_agents.csv', 'back\\slash é.csv', 'emoji 😀 \\{}.csv'])(
    'Base64Encode of %j is the base64 of its UTF-8 bytes, and Decode gives it back byte for byte',
    async (key) => {
      const encoded = await evaluate('States.Base64Encode($.key)', { key });
      expect(encoded).toBe(Buffer.from(key, 'utf8').toString('base64'));
      expect(await evaluate('States.Base64Decode($.encoded)', { encoded })).toBe(key);
      expect(
        await evaluate("States.Base64Encode(States.Format('{}/{}', $.bucket, $.key))", { bucket: 'b', key }),
      ).toBe(Buffer.from(`b/${key}`, 'utf8').toString('base64'));
    },
  );

  test("a value keeps its backslashes; a literal's escapes are read as escapes", async () => {
    expect(await evaluate("States.Format('{}/{}', $.bucket, $.key)", { bucket: 'b', key: 'a\\b.csv' })).toBe(
      'b/a\\b.csv',
    );
    expect(await evaluate("States.Format('it\\'s \\{\\} {} a\\\\b', $.x)", { x: 'v' })).toBe(
      "it's {} v a\\b",
    );
    await expect(evaluate("States.Format('{} {}', $.x)", { x: 'v' })).rejects.toThrow();
  });
});

describe('files with any Unicode name run locally, their key kept byte for byte', () => {
  test.each(['東京_agents.csv', 'back\\slash é.csv', "in/o'brien 😀 [1] {a}.csv"])('%j', async (key) => {
    await withLake(async (lake, dir) => {
      const file = writeCsv(dir, 'events.csv', [
        '11/04/2024 09:00:00 AM,101,Login,',
        '11/04/2024 09:45:00 AM,101,Logout,',
      ]);
      const run = await runFile(lake, file, { key });
      expect(run.error).toBeUndefined();
      expect(run.status).toBe('SUCCEEDED');
      const [row] = await lake.query('select source_object from pipeline_runs where run_id = ?', [run.runId]);
      expect(Buffer.from(String(row?.source_object), 'utf8')).toEqual(
        Buffer.from(`${LOCAL_BUCKET}/${key}`, 'utf8'),
      );
      expect(run.sourceObject).toBe(`${LOCAL_BUCKET}/${key}`);
    });
  });
});

describe('every statement the project sends to Athena passes the strict twin', () => {
  // The pipeline's and failure files as the state machine renders them, the others with one
  // ExecutionParameter per `?` outside literals and comments, as their callers bind them.
  const files = readdirSync(SQL_DIR).flatMap((dir) =>
    readdirSync(join(SQL_DIR, dir))
      .filter((name) => name.endsWith('.sql'))
      .map((name) => `${dir}/${name}`),
  );

  test('the files cover pipeline, failure, coverage, report, ops and views', () => {
    expect(new Set(files.map((file) => file.split('/')[0]))).toEqual(
      new Set(['coverage', 'failure', 'ops', 'pipeline', 'report', 'views']),
    );
  });

  test.each(files)('%s', (file) => {
    const sql = readSql(file);
    const names = templateParameters(sql);
    const text =
      names.length > 0 ? renderSql(sql, Object.fromEntries(names.map((name) => [name, 'x']))) : sql;
    const marks =
      text
        .replace(/--[^\n]*/g, '')
        .replace(/'(?:[^']|'')*'/g, "''")
        .match(/\?/g) ?? [];
    const parameters = marks.map(() => "'x'");
    expect(() =>
      checkStartQueryExecution({
        QueryString: text,
        ...(parameters.length > 0 ? { ExecutionParameters: parameters } : {}),
      }),
    ).not.toThrow();
  });
});
