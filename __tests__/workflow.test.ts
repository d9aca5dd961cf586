import aslValidator from 'asl-validator';
import { parseAthenaLiteral } from '../local/runner';
import {
  buildDefinition,
  EMIT_FAILED_STATE,
  EMIT_SUCCEEDED_STATE,
  GLUE_JOB_ARGUMENTS,
  LOAD_STATE,
} from '../workflow/definition';
import { FAILED_RUN_STEP, PIPELINE_STEPS, readSql } from '../workflow/steps';
import { ingest, withLake, writeCsv } from './support/lake';

const resources = {
  glueJobName: 'agent-etl-dev-csv-to-parquet',
  athenaWorkGroup: 'agent-etl-dev',
  glueDatabase: 'agent_etl_dev',
  eventBusName: 'default',
};
const definition = buildDefinition(resources);
type State = Record<string, unknown> & { Type: string; Next?: string; Catch?: { Next: string }[] };
const states = definition.States as Record<string, State>;

describe('the state machine definition', () => {
  test('is valid Amazon States Language', () => {
    const result = aslValidator(definition, { checkArn: true, checkPaths: true });
    expect(result.errorsText('\n')).toBe('');
    expect(result.isValid).toBe(true);
  });

  test('runs the load, then every SQL step in order, then the completion event', () => {
    const path: string[] = [];
    for (let name: string | undefined = definition.StartAt; name; name = states[name]?.Next) path.push(name);
    expect(path).toEqual([
      LOAD_STATE,
      ...PIPELINE_STEPS.map((s) => s.state),
      EMIT_SUCCEEDED_STATE,
      'RunSucceeded',
    ]);
  });

  test('every step of the success path is caught into the failed-run branch', () => {
    for (const name of [LOAD_STATE, ...PIPELINE_STEPS.map((s) => s.state)]) {
      expect(states[name]?.Catch?.map((c) => c.Next)).toEqual([FAILED_RUN_STEP.state]);
    }
    expect(states[FAILED_RUN_STEP.state]?.Catch?.map((c) => c.Next)).toEqual([EMIT_FAILED_STATE]);
    expect(states[EMIT_FAILED_STATE]?.Next).toBe('RunFailed');
    expect(states.RunFailed?.Type).toBe('Fail');
  });

  test('each Athena step sends its SQL file as written, with one parameter per placeholder', () => {
    for (const step of [...PIPELINE_STEPS, FAILED_RUN_STEP]) {
      const parameters = states[step.state]?.Parameters as Record<string, string>;
      const sql = readSql(step.file);
      expect(parameters.QueryString).toBe(sql);
      expect(parameters.WorkGroup).toBe(resources.athenaWorkGroup);
      const placeholders = (sql.replace(/--.*$/gm, '').match(/\?/g) ?? []).length;
      expect(placeholders).toBe(step.parameters.length);
      const expression = parameters['ExecutionParameters.$'] ?? '';
      expect(expression.startsWith('States.Array(')).toBe(true);
      expect(expression.match(/States\.Format\('\\'\{\}\\''/g)).toHaveLength(step.parameters.length);
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

describe('Athena parameter literals, as the local engine binds them', () => {
  test.each([
    ["'run-1'", 'run-1'],
    ["'it''s'", "it's"],
    ["''", ''],
    ['42', 42],
  ])('%s binds as %p', (literal, value) => {
    expect(parseAthenaLiteral(literal)).toBe(value);
  });

  test.each(["'unterminated", "a'b", "'x' or 1=1 --'"])('%s is refused', (literal) => {
    expect(() => parseAthenaLiteral(literal)).toThrow(/not an Athena parameter literal/);
  });

  test('an object whose name holds a quote travels through every step intact', async () => {
    await withLake(async (lake, dir) => {
      const csv = writeCsv(dir, "o'brien's shift.csv", [
        '2024-11-18 09:00:00,901,ONLINE,',
        '2024-11-18 09:10:00,901,LOGOUT,',
      ]);
      const [run] = await ingest(lake, csv);
      expect(run?.status).toBe('SUCCEEDED');
      const rows = await lake.query('select source_object, status from pipeline_runs');
      expect(rows).toEqual([{ source_object: "bronze/o'brien's shift.csv", status: 'SUCCEEDED' }]);
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
