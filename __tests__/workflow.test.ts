import aslValidator from 'asl-validator';
import { runDayValues } from '../handlers/run-failed/backstop';
import { localDefinition } from '../local/runner';
import { StateMachine, type StateMachineDefinition } from '../local/step-functions';
import {
  athenaResultSet,
  checkPutEvents,
  checkStartJobRun,
  checkStartQueryExecution,
} from '../local/strict-twin';
import {
  ALERT_EVENT_FAILED_STATE,
  buildDefinition,
  CHECK_WITHOUT_EVENT_STATE,
  EMIT_SUCCEEDED_STATE,
  FAIL_STATE,
  failedAt,
  GLUE_JOB_ARGUMENTS,
  LOAD_STATE,
  RECORD_FAILED_STATE,
  SUCCEED_STATE,
  undoState,
} from '../workflow/definition';
import { normalizeSql, renderSql, templateParameters } from '../workflow/sql-template';
import {
  GET_OBJECT_DAYS_STATE,
  GET_RUN_DAYS_STATE,
  OBJECT_DAYS,
  PIPELINE_STEPS,
  RUN_DAYS,
  readSql,
  START_STEP,
  UNDO_STEPS,
} from '../workflow/steps';
import { MANAGED_TABLES } from '../workflow/tables';
import { ingest, withLake, writeCsv } from './support/lake';
import { SAMPLE_OBJECT_RUNS, SAMPLE_RUN_DAYS, sampleAnswer } from './support/sample-answers';

const resources = {
  glueJobName: 'agent-etl-dev-csv-to-parquet',
  athenaWorkGroup: 'agent-etl-dev',
  glueDatabase: 'agent_etl_dev',
  eventBusName: 'agent-etl-dev-pipeline',
  runFailedFunctionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:agent-etl-dev-run-failed',
  checkSummaryFunctionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:agent-etl-dev-check-summary',
  alertTopicArn: 'arn:aws:sns:eu-west-1:123456789012:agent-etl-dev-alerts',
};
const definition = buildDefinition(resources);
type State = Record<string, unknown> & { Type: string; Next?: string; Catch?: { Next: string }[] };
const states = definition.States as Record<string, State>;
// The object's days are read after the load, for FindAffectedWindows; the run's days after the windows
// are found and the finished runs' cleared, before the first statement that takes them.
const TASKS = [
  START_STEP.state,
  LOAD_STATE,
  OBJECT_DAYS.state,
  GET_OBJECT_DAYS_STATE,
  'FindAffectedWindows',
  'ClearFinishedWindows',
  RUN_DAYS.state,
  GET_RUN_DAYS_STATE,
  'MergeIntervals',
  'AppendIntervals',
  'MergeWeeklySummary',
  'MergeKnownExtensions',
  'RecordRun',
  EMIT_SUCCEEDED_STATE,
];
const UNDO_PATH = [
  undoState(RUN_DAYS.state),
  undoState(GET_RUN_DAYS_STATE),
  ...UNDO_STEPS.map((s) => s.state),
];

describe('the state machine definition', () => {
  test('is valid Amazon States Language', () => {
    const result = aslValidator(definition, { checkArn: true, checkPaths: true });
    expect(result.errorsText('\n')).toBe('');
    expect(result.isValid).toBe(true);
  });

  test('records the run as RUNNING, loads, runs every SQL step in order, then the completion event', () => {
    const path: string[] = [];
    for (let name: string | undefined = definition.StartAt; name; name = states[name]?.Next) path.push(name);
    expect(path).toEqual([...TASKS, SUCCEED_STATE]);
  });

  test('locally a task may run as long as the execution (AWS has no 60 s task default; the library has)', () => {
    const local = localDefinition(definition);
    const tasks = Object.entries(local.States).filter(([, state]) => state.Type === 'Task');
    expect(tasks.length).toBeGreaterThan(TASKS.length);
    for (const [name, state] of tasks) expect([name, state.TimeoutSeconds]).toEqual([name, 3600]);
    expect(definition.TimeoutSeconds).toBe(3600);
    // The AWS definition itself is unchanged: no task carries a timeout of its own.
    for (const [, state] of Object.entries(states)) expect(state.TimeoutSeconds).toBeUndefined();
  });

  test('a failure in any task before the commit passes through a state naming it, then the record, the undo steps and Fail', () => {
    for (const name of TASKS.filter((task) => task !== EMIT_SUCCEEDED_STATE)) {
      expect(states[name]?.Catch?.map((c) => c.Next)).toEqual([failedAt(name)]);
      expect(states[failedAt(name)]).toMatchObject({ Type: 'Pass', Result: name, Next: RECORD_FAILED_STATE });
    }
    const branch: string[] = [];
    for (let name: string | undefined = RECORD_FAILED_STATE; name; name = states[name]?.Next)
      branch.push(name);
    expect(branch).toEqual([RECORD_FAILED_STATE, ...UNDO_PATH, FAIL_STATE]);
    for (const name of [RECORD_FAILED_STATE, ...UNDO_PATH]) {
      expect(states[name]?.Catch?.map((c) => c.Next)).toEqual([FAIL_STATE]);
    }
  });

  test('a failed completion event (after the commit) keeps the run SUCCEEDED: the check is invoked directly, then the alert', () => {
    expect(states[EMIT_SUCCEEDED_STATE]?.Catch?.map((c) => c.Next)).toEqual([CHECK_WITHOUT_EVENT_STATE]);
    const branch: string[] = [];
    for (let name: string | undefined = CHECK_WITHOUT_EVENT_STATE; name; name = states[name]?.Next)
      branch.push(name);
    expect(branch).toEqual([CHECK_WITHOUT_EVENT_STATE, ALERT_EVENT_FAILED_STATE, SUCCEED_STATE]);
    expect(states[CHECK_WITHOUT_EVENT_STATE]?.Catch?.map((c) => c.Next)).toEqual([ALERT_EVENT_FAILED_STATE]);
    expect(states[ALERT_EVENT_FAILED_STATE]?.Catch?.map((c) => c.Next)).toEqual([SUCCEED_STATE]);
    // check-summary receives what the completion rule would have given it.
    const payload = (states[CHECK_WITHOUT_EVENT_STATE]?.Parameters as { Payload: object } | undefined)
      ?.Payload;
    const emitted = (states[EMIT_SUCCEEDED_STATE]?.Parameters as { Entries: object[] } | undefined)
      ?.Entries[0] as Record<string, unknown> | undefined;
    expect(payload).toMatchObject({
      source: emitted?.Source,
      'detail-type': emitted?.DetailType,
      detail: emitted?.Detail,
    });
    expect(states[ALERT_EVENT_FAILED_STATE]?.Parameters).toMatchObject({ TopicArn: resources.alertTopicArn });
  });

  test('Athena steps retry Iceberg commit conflicts (States.TaskFailed) with backoff and full jitter', () => {
    for (const step of [START_STEP, ...PIPELINE_STEPS, ...UNDO_STEPS]) {
      const retry = states[step.state]?.Retry as Record<string, unknown>[];
      expect(retry).toContainEqual(
        expect.objectContaining({
          ErrorEquals: ['States.TaskFailed'],
          BackoffRate: 2,
          JitterStrategy: 'FULL',
        }),
      );
    }
  });

  test('no Athena step sends ExecutionParameters: values travel as base64 inside the text', () => {
    for (const step of [START_STEP, ...PIPELINE_STEPS, ...UNDO_STEPS]) {
      const parameters = states[step.state]?.Parameters as Record<string, string>;
      expect(Object.keys(parameters)).not.toContain('ExecutionParameters.$');
      expect(Object.keys(parameters)).not.toContain('ExecutionParameters');
      const names = templateParameters(normalizeSql(readSql(step.file)));
      expect(names.length).toBeGreaterThan(0);
      expect(parameters['QueryString.$']?.startsWith('States.Format(')).toBe(true);
      expect(parameters['QueryString.$']?.match(/States\.Base64Encode\(/g)).toHaveLength(names.length);
      expect(parameters['QueryString.$']).not.toContain('\n');
    }
  });

  test('the Glue job gets exactly the arguments the Glue script reads', () => {
    const parameters = states[LOAD_STATE]?.Parameters as {
      JobName: string;
      Arguments: Record<string, string>;
    };
    expect(parameters.JobName).toBe(resources.glueJobName);
    expect(Object.keys(parameters.Arguments).map((k) => k.replace(/\.\$$/, ''))).toEqual([
      ...GLUE_JOB_ARGUMENTS,
    ]);
  });
});

describe('every request the state machine can send passes the strict twin', () => {
  const hostileKey = `exports/2024-11-18/o'brien's "shift", part [1] {a,b} *?.csv`;
  const cause = `ICEBERG_COMMIT_ERROR: ${'x'.repeat(30 * 1024)}`;

  /** Runs the real definition with every task recorded; `failIn` fails that state with a 30 KB cause. */
  async function execute(failIn?: string) {
    const requests: { state: string; input: unknown }[] = [];
    const handlers: Record<string, (input: unknown) => Promise<unknown>> = {};
    for (const name of Object.keys(states).filter((n) => states[n]?.Type === 'Task')) {
      handlers[name] = async (input) => {
        requests.push({ state: name, input });
        if (name === failIn) throw Object.assign(new Error(cause), { name: 'States.TaskFailed' });
        return sampleAnswer(states[name]?.Resource);
      };
    }
    const machine = new StateMachine(definition as unknown as StateMachineDefinition, {
      validationOptions: { noValidate: true },
    });
    const execution = machine.run(
      { bucket: 'agent-etl-dev-bronze', key: hostileKey, etag: '9b2cf535f27731c974343645a3985328' } as never,
      {
        overrides: {
          taskResourceLocalHandlers: handlers as never,
          retryIntervalOverrides: Object.fromEntries(Object.keys(states).map((name) => [name, 0])),
        },
        context: { Execution: { Name: "run'1", Id: 'arn:x', StartTime: '2024-11-19T01:02:03.456Z' } },
      },
    );
    await execution.result.catch(() => undefined);
    return requests;
  }

  test.each([undefined, ...TASKS])('with a failure in %s', async (failIn) => {
    const requests = await execute(failIn);
    expect(requests.length).toBeGreaterThan(failIn ? 1 : TASKS.length - 1);
    for (const { state, input } of requests) {
      const request = input as Record<string, unknown>;
      if (states[state]?.Resource === 'arn:aws:states:::athena:startQueryExecution.sync') {
        expect(() => checkStartQueryExecution(request as never)).not.toThrow();
      } else if (state === LOAD_STATE) {
        expect(checkStartJobRun(request, GLUE_JOB_ARGUMENTS)['--source_key']).toBe(hostileKey);
      } else if (state === EMIT_SUCCEEDED_STATE) {
        expect(() => checkPutEvents(request.Entries as never)).not.toThrow();
      }
    }
  });

  test('the rendered text decodes to the exact values; the failure reaches the record with its state', async () => {
    const requests = await execute('MergeIntervals');
    const start = requests.find((r) => r.state === START_STEP.state)?.input as { QueryString: string };
    const literals = [...start.QueryString.matchAll(/from_base64\('([^']*)'\)/g)].map((m) =>
      Buffer.from(m[1] ?? '', 'base64').toString('utf8'),
    );
    expect(literals).toEqual([
      "run'1",
      // the object's published run, and the run a killed run of it replaced: found by object, marked
      // replaced by this run
      `agent-etl-dev-bronze/${hostileKey}`,
      "run'1",
      `agent-etl-dev-bronze/${hostileKey}`,
      "run'1",
      "run'1",
      // the new row's values
      `agent-etl-dev-bronze/${hostileKey}`,
      '9b2cf535f27731c974343645a3985328',
      expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/),
    ]);
    const failure = requests.find((r) => r.state === RECORD_FAILED_STATE)?.input as {
      Payload: Record<string, string>;
    };
    expect(failure.Payload.state).toBe('MergeIntervals');
    expect(failure.Payload.cause).toBe(cause);
  });

  test('GetObjectDays: the object days and runs go to FindAffectedWindows alone, the loaded days to MergeKnownExtensions and RecordRun', async () => {
    const requests = await execute();
    const taking = (parameter: string) =>
      requests.filter(({ state }) => {
        const file = [...PIPELINE_STEPS, ...UNDO_STEPS].find((step) => step.state === state)?.file;
        return file !== undefined && templateParameters(readSql(file)).includes(parameter as never);
      });
    const decoded = (request: { input: unknown }) =>
      [...(request.input as { QueryString: string }).QueryString.matchAll(/from_base64\('([^']*)'\)/g)].map(
        (m) => Buffer.from(m[1] ?? '', 'base64').toString('utf8'),
      );
    for (const parameter of ['object_first_day', 'object_published_run', 'object_unfinished_runs'])
      expect(taking(parameter).map((r) => r.state)).toEqual(['FindAffectedWindows']);
    const [find] = taking('object_first_day');
    if (!find) throw new Error('FindAffectedWindows did not run');
    expect(decoded(find)).toEqual(
      expect.arrayContaining([
        SAMPLE_RUN_DAYS.first_day,
        SAMPLE_RUN_DAYS.last_day,
        SAMPLE_OBJECT_RUNS.published_run,
        SAMPLE_OBJECT_RUNS.unfinished_runs,
      ]),
    );
    const loading = taking('loaded_first_day');
    expect(loading.map((r) => r.state)).toEqual(['MergeKnownExtensions', 'RecordRun']);
    for (const request of loading)
      expect(decoded(request)).toEqual(
        expect.arrayContaining([SAMPLE_OBJECT_RUNS.loaded_first_day, SAMPLE_OBJECT_RUNS.loaded_last_day]),
      );
  });

  test('every step that takes the run days, on both paths, gets those GetRunDays read back', async () => {
    const decoded = (text: string) =>
      [...text.matchAll(/from_base64\('([^']*)'\)/g)].map((m) =>
        Buffer.from(m[1] ?? '', 'base64').toString('utf8'),
      );
    for (const failIn of [undefined, 'MergeWeeklySummary']) {
      const requests = await execute(failIn);
      const taking = requests.filter(({ state }) => {
        const file = [...PIPELINE_STEPS, ...UNDO_STEPS].find((step) => step.state === state)?.file;
        return file !== undefined && templateParameters(readSql(file)).includes('first_day');
      });
      // (a failed state is retried: each try sends the same text)
      expect([...new Set(taking.map((r) => r.state))]).toEqual(
        failIn
          ? [
              'MergeIntervals',
              'AppendIntervals',
              'MergeWeeklySummary',
              ...UNDO_STEPS.map((step) => step.state),
            ]
          : ['MergeIntervals', 'AppendIntervals', 'MergeWeeklySummary', 'RecordRun'],
      );
      for (const { input } of taking) {
        const values = decoded((input as { QueryString: string }).QueryString);
        expect(values).toContain(SAMPLE_RUN_DAYS.first_day);
        expect(values).toContain(SAMPLE_RUN_DAYS.last_day);
      }
      // The undo path reads them again itself: a failure can come before the main path read them.
      const found = requests.filter((r) => r.state.endsWith(RUN_DAYS.state)).map((r) => r.state);
      expect(found).toEqual(failIn ? [RUN_DAYS.state, undoState(RUN_DAYS.state)] : [RUN_DAYS.state]);
    }
  });
});

describe('the strict Athena twin refuses what Athena refuses', () => {
  test('GetQueryResults: the column names first, a null without a VarCharValue, 1,000 rows a page', () => {
    const answer = athenaResultSet([
      { first_day: '2024-11-18', last_day: null },
      { first_day: '2024-11-19', last_day: '2024-11-20' },
    ]);
    expect(answer.ResultSet.Rows).toEqual([
      { Data: [{ VarCharValue: 'first_day' }, { VarCharValue: 'last_day' }] },
      { Data: [{ VarCharValue: '2024-11-18' }, {}] },
      { Data: [{ VarCharValue: '2024-11-19' }, { VarCharValue: '2024-11-20' }] },
    ]);
    expect(answer.NextToken).toBeUndefined();
    // 1,500 rows: the header and 999 of them on the first page, and a token for the rest.
    const many = athenaResultSet(Array.from({ length: 1500 }, (_, i) => ({ n: i })));
    expect(many.ResultSet.Rows).toHaveLength(1000);
    expect(many.ResultSet.Rows[999]).toEqual({ Data: [{ VarCharValue: '998' }] });
    expect(many.NextToken).toBeDefined();
  });

  test.each([
    [
      'a ? parameter in a MERGE',
      'merge into t using (select 1 as a) s on t.a = s.a when matched and t.b = ? then delete',
      ["'x'"],
    ],
    ['a ? parameter in a select list', 'select cast(? as varchar) as run_id', ["'x'"]],
    ['a ? parameter in a DELETE', 'delete from t where a = ?', ["'x'"]],
    ['a ? parameter in a join condition', 'select * from a join b on a.x = ? where a.y = 1', ["'x'"]],
    ['a ? inside quotes', "select * from t where a = '?'", undefined],
    ['more parameters than placeholders', 'select * from t where a = ?', ["'x'", "'y'"]],
    ['a parameter over 1,024 characters', 'select * from t where a = ?', [`'${'x'.repeat(1100)}'`]],
    ['an empty ExecutionParameters list', 'select 1', []],
    ['a query string over 262,144 characters', `select '${'x'.repeat(262_200)}'`, undefined],
    // 100,000 characters, 300,000 bytes: Athena counts bytes.
    ['a query string over 262,144 bytes of UTF-8', `select '${'東'.repeat(100_000)}'`, undefined],
    ['an unfilled template value', "select from_utf8(from_base64('{run_id}'))", undefined],
  ])('%s', (_, sql, parameters) => {
    expect(() =>
      checkStartQueryExecution({ QueryString: sql, ExecutionParameters: parameters as string[] | undefined }),
    ).toThrow(/^Athena: /);
  });

  test('and accepts parameters in the WHERE clause of a SELECT or INSERT', () => {
    expect(() =>
      checkStartQueryExecution({
        QueryString: 'select a from t where a = ? and b in (select c from u where d = cast(? as timestamp))',
        ExecutionParameters: ["'x'", "'2024-01-01 00:00:00'"],
      }),
    ).not.toThrow();
    expect(() =>
      checkStartQueryExecution({
        QueryString: 'insert into t select a from u where a = ?',
        ExecutionParameters: ['1'],
      }),
    ).not.toThrow();
  });

  test('every sql/ file the handlers run with parameters passes (coverage queries)', () => {
    for (const file of ['coverage/present_intervals.sql', 'coverage/run_extent.sql']) {
      const sql = readSql(file);
      const count = (normalizeSql(sql).match(/\?/g) ?? []).length;
      expect(() =>
        checkStartQueryExecution({
          QueryString: sql,
          ExecutionParameters: Array(count).fill("'2024-11-18 00:00:00'"),
        }),
      ).not.toThrow();
    }
  });

  test('Glue arguments and PutEvents entries are held to their limits', () => {
    expect(() => checkStartJobRun({ Arguments: { '--source_bucket': 'b' } }, GLUE_JOB_ARGUMENTS)).toThrow(
      /^Glue: /,
    );
    expect(() =>
      checkStartJobRun(
        { Arguments: { '--source_bucket': 'b', '--source_key': '', '--run_id': 'r' } },
        GLUE_JOB_ARGUMENTS,
      ),
    ).toThrow(/non-empty/);
    const entry = { Source: 's', DetailType: 'd', Detail: { cause: 'x'.repeat(256 * 1024) } };
    expect(() => checkPutEvents([entry])).toThrow(/under 256 KB/);
    expect(() => checkPutEvents(Array(11).fill({ Source: 's', DetailType: 'd', Detail: {} }))).toThrow(
      /1 to 10/,
    );
  });

  test("the local sequence() refuses more than 10,000 entries, as Trino's does", async () => {
    await withLake(async (lake) => {
      await expect(lake.query('select len(sequence(1, 10000, 1)) as n')).resolves.toEqual([{ n: '10000' }]);
      await expect(lake.query('select len(sequence(1, 10001, 1)) as n')).rejects.toThrow(
        /must not have more than 10000 entries/,
      );
    });
  });
});

describe('the run days query', () => {
  test('every MERGE into a partitioned gold table bounds its target by the run days in its ON clause', () => {
    // Athena prunes a MERGE target's partitions only on static predicates of its ON clause; locally
    // DuckDB bounds the target through the join as well, so nothing else would notice a bound removed.
    const bounded: string[] = [];
    for (const step of PIPELINE_STEPS) {
      const text = normalizeSql(readSql(step.file));
      const table = MANAGED_TABLES.find((t) => text.startsWith(`merge into ${t.name} as target `));
      // pipeline_runs is partitioned by `published`, not by day: its MERGEs are checked below
      if (!table?.layout || table.layout.transform === 'identity') continue;
      const on = text.slice(
        text.lastIndexOf(') as source on '),
        text.indexOf(' when ', text.lastIndexOf(') as source on ')),
      );
      const column = `target.${table.layout.column}`;
      expect(on).toMatch(new RegExp(`${column} >= [^ ]*.*\\{first_day\\}`));
      expect(on).toMatch(new RegExp(`${column} <=? [^ ]*.*\\{last_day\\}`));
      bounded.push(table.name);
    }
    expect(bounded.sort()).toEqual(
      MANAGED_TABLES.filter((t) => t.layout && t.layout.transform !== 'identity')
        .map((t) => t.name)
        .sort(),
    );
  });

  test('gives both days for any run, an empty range for a run without windows, so GetRunDays never lacks a value', async () => {
    await withLake(async (lake, dir) => {
      const days = (runId: string) => runDayValues(lake, readSql(RUN_DAYS.file), runId);
      await expect(days('no-such-run')).resolves.toEqual({
        run_id: 'no-such-run',
        first_day: '1970-01-02',
        last_day: '1970-01-01',
      });
      // 09:00 on the 18th to the next event, 00:30 on the 20th: the span crosses a whole day.
      const csv = writeCsv(dir, 'span.csv', [
        '2024-11-18 09:00:00,901,ONLINE,',
        '2024-11-20 00:30:00,901,LOGOUT,',
      ]);
      const [run] = await ingest(lake, csv);
      await expect(days(run?.runId ?? '')).resolves.toMatchObject({
        first_day: '2024-11-18',
        last_day: '2024-11-20',
      });
    });
  });
});

describe("FindObjectDays' row", () => {
  test('the days and runs of the object, and the days the run loaded: this run alone, then the published run, then a run that never succeeded', async () => {
    await withLake(async (lake, dir) => {
      const row = async (runId: string, sourceObject: string) => {
        const [values] = await lake.query(
          renderSql(readSql(OBJECT_DAYS.file), { run_id: runId, source_object: sourceObject }),
        );
        return values;
      };
      // nothing loaded yet: an empty range, the run standing for the published one, no unfinished run
      await expect(row('run-new', 'bronze/span.csv')).resolves.toEqual({
        first_day: '1970-01-02',
        last_day: '1970-01-01',
        published_run: 'run-new',
        unfinished_runs: ',',
        loaded_first_day: '1970-01-02',
        loaded_last_day: '1970-01-01',
      });
      const csv = writeCsv(dir, 'span.csv', [
        '2024-11-18 09:00:00,901,ONLINE,',
        '2024-11-20 00:30:00,901,LOGOUT,',
      ]);
      const [run] = await ingest(lake, csv);
      const sourceObject = String(run?.sourceObject);
      // GetObjectDays reads the values by position: the file selects them in the order it names them
      const selector = states[GET_OBJECT_DAYS_STATE]?.ResultSelector as Record<string, string>;
      expect(Object.keys((await row(String(run?.runId), sourceObject)) ?? {})).toEqual(
        Object.entries(selector)
          .sort(([, a], [, b]) => a.localeCompare(b))
          .map(([name]) => name.replace(/\.\$$/, '')),
      );
      // the run itself: its days are both the object's and the ones it loaded
      await expect(row(String(run?.runId), sourceObject)).resolves.toEqual({
        first_day: '2024-11-18',
        last_day: '2024-11-20',
        published_run: run?.runId,
        unfinished_runs: ',',
        loaded_first_day: '2024-11-18',
        loaded_last_day: '2024-11-20',
      });
      // a new run of the object, started (it replaces the published run) and not loaded yet: the
      // published run's days and id, nothing loaded
      await lake.query(
        renderSql(readSql(START_STEP.file), {
          run_id: 'run-next',
          source_object: sourceObject,
          source_etag: 'etag',
          started_at: '2024-11-24T08:00:00Z',
        }),
      );
      await expect(row('run-next', sourceObject)).resolves.toEqual({
        first_day: '2024-11-18',
        last_day: '2024-11-20',
        published_run: run?.runId,
        unfinished_runs: ',',
        loaded_first_day: '1970-01-02',
        loaded_last_day: '1970-01-01',
      });
      // a run of the object that failed with its windows still staged widens the days and is listed;
      // one of another object is not
      await lake.exec(`insert into pipeline_runs (run_id, source_object, status, started_at, published) values
        ('run-failed', '${sourceObject}', 'FAILED', timestamp '2024-11-23 10:00:00', false),
        ('run-other', 'bronze/other.csv', 'FAILED', timestamp '2024-11-23 11:00:00', false)`);
      await lake.exec(`insert into affected_windows (run_id, extension, window_start, window_end) values
        ('run-failed', '902', timestamp '2024-11-21 23:30:00', timestamp '2024-11-22 00:30:00'),
        ('run-failed', '903', timestamp '2024-11-22 08:00:00', timestamp '2024-11-23 00:00:00'),
        ('run-other', '902', timestamp '2024-11-10 08:00:00', timestamp '2024-11-25 09:00:00')`);
      await expect(row('run-next', sourceObject)).resolves.toEqual({
        first_day: '2024-11-18',
        last_day: '2024-11-22',
        published_run: run?.runId,
        unfinished_runs: ',run-failed,',
        loaded_first_day: '1970-01-02',
        loaded_last_day: '1970-01-01',
      });
    });
  });
});

describe('values in SQL text', () => {
  test('renderSql fills every value as base64, so no value can end a literal', () => {
    const sql = "select from_utf8(from_base64('{run_id}')) as a, from_utf8(from_base64('{error}')) as b";
    const text = renderSql(sql, { run_id: "x'; drop table t; --", error: '{run_id}' });
    expect(text).not.toContain('drop table');
    expect(text).not.toContain('{');
    expect(() => renderSql(sql, { run_id: 'x' })).toThrow(/no value for \{error\}/);
  });

  test('an object whose name holds quotes, commas and glob characters travels through every step intact', async () => {
    await withLake(async (lake, dir) => {
      const csv = writeCsv(dir, "o'brien's shift, [1].csv", [
        '2024-11-18 09:00:00,901,ONLINE,',
        '2024-11-18 09:10:00,901,LOGOUT,',
      ]);
      const [run] = await ingest(lake, csv);
      expect(run?.status).toBe('SUCCEEDED');
      const rows = await lake.query('select source_object, status from pipeline_runs');
      expect(rows).toEqual([{ source_object: run?.sourceObject, status: 'SUCCEEDED' }]);
      expect(run?.sourceObject.endsWith("o'brien's shift, [1].csv")).toBe(true);
    });
  });
});

describe('the report view', () => {
  test("has the problem statement's column names, interval format and two-decimal hours", async () => {
    await withLake(async (lake, dir) => {
      await ingest(
        lake,
        writeCsv(dir, 'v.csv', [
          '2024-11-18 09:00:00,902,ONLINE,',
          '2024-11-18 09:20:00,902,LOGOUT,',
          '2024-11-18 21:30:00,903,ONLINE,',
          '2024-11-18 21:30:01,903,LOGOUT,',
        ]),
      );
      const rows = await lake.query(
        'select "Extension", "Interval", "Productive Hours" from agent_intervals_report order by 1, 2',
      );
      expect(rows).toEqual([
        { Extension: '902', Interval: '11/18/2024 9:00:00 AM', 'Productive Hours': 0.33 },
        { Extension: '903', Interval: '11/18/2024 9:30:00 PM', 'Productive Hours': 0 },
      ]);
    });
  });
});
