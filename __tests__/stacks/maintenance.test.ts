import { validateConfig } from '../../stacks/config';
import { maintenanceStatement } from '../../stacks/constructs/maintenance';
import { MANAGED_TABLES } from '../../workflow/tables';
import {
  bySid,
  environment,
  ref,
  resourceNamed,
  resourcesOf,
  resourcesOfStatement,
  statementsOf,
  synthPipeline,
} from './synth';

const dev = environment('dev');
const json = synthPipeline(dev);
const schedules = Object.entries(resourcesOf(json, 'aws_scheduler_schedule')).filter(([name]) =>
  name.startsWith('maintenance_'),
);
const [workgroup] = resourceNamed(json, 'aws_athena_workgroup', 'workgroup');
const [database] = resourceNamed(json, 'aws_glue_catalog_database', 'database');
const [roleName] = resourceNamed(json, 'aws_iam_role', 'maintenance');
const policy = bySid(statementsOf(resourceNamed(json, 'aws_iam_role_policy', 'maintenance')[1].policy));

interface Target {
  arn: string;
  role_arn: string;
  input: string;
  dead_letter_config: { arn: string };
}
const targets = schedules.map(([, schedule]) => ({ schedule, target: schedule.target as Target }));
const [pendingQueue] = resourceNamed(json, 'aws_sqs_queue', 'serialization_pendingQueue');
const [drainName, drain] = resourceNamed(json, 'aws_sfn_state_machine', 'serialization_drain');
const drainStates = JSON.parse(String(drain.definition)).States as Record<
  string,
  { Type: string; Resource?: string; Parameters?: Record<string, unknown>; Next?: string }
>;
const drainPolicy = bySid(
  statementsOf(resourceNamed(json, 'aws_iam_role_policy', 'serialization_drainRole')[1].policy),
);

// Athena's documented syntax: OPTIMIZE [db_name.]table_name REWRITE DATA USING BIN_PACK [WHERE predicate]
// and VACUUM [database_name.]target_table.
const OPTIMIZE = /^OPTIMIZE (\w+) REWRITE DATA USING BIN_PACK$/;
const VACUUM = /^VACUUM (\w+)$/;

describe('Iceberg maintenance, under the pipeline lock', () => {
  test('one schedule per operation puts {"maintenance": op} on the pending-objects queue (no SQL in the message)', () => {
    expect(
      targets
        .map(({ target }) => JSON.parse(target.input))
        .sort((a, b) => (a.maintenance < b.maintenance ? -1 : 1)),
    ).toEqual([{ maintenance: 'optimize' }, { maintenance: 'vacuum' }]);
    for (const { target } of targets) {
      expect(target.arn).toBe(ref('aws_sqs_queue', pendingQueue, 'arn'));
      expect(target.role_arn).toBe(ref('aws_iam_role', roleName, 'arn'));
    }
  });

  test("the drain runs every Iceberg table's OPTIMIZE and VACUUM, in Athena syntax, in the pipeline workgroup and database", () => {
    const athena = Object.values(drainStates).filter(
      (state) => state.Resource === 'arn:aws:states:::athena:startQueryExecution.sync',
    );
    const statements = athena.map((state) => String(state.Parameters?.QueryString));
    const tables = MANAGED_TABLES.map((table) => table.name).sort();
    expect(
      statements
        .map((q) => OPTIMIZE.exec(q)?.[1])
        .filter(Boolean)
        .sort(),
    ).toEqual(tables);
    expect(
      statements
        .map((q) => VACUUM.exec(q)?.[1])
        .filter(Boolean)
        .sort(),
    ).toEqual(tables);
    expect(statements).toHaveLength(2 * tables.length);
    for (const state of athena) {
      expect(state.Parameters?.WorkGroup).toBe(ref('aws_athena_workgroup', workgroup, 'name'));
      expect(state.Parameters?.QueryExecutionContext).toEqual({
        Database: ref('aws_glue_catalog_database', database, 'name'),
      });
    }
    expect(drainName).toBeDefined();
  });

  test('optimize and vacuum run at their configured times in the contact center zone, never together', () => {
    for (const { schedule } of targets) {
      const message = JSON.parse((schedule.target as Target).input) as { maintenance: string };
      const expected =
        message.maintenance === 'optimize'
          ? dev.maintenance.optimizeSchedule
          : dev.maintenance.vacuumSchedule;
      expect(schedule.schedule_expression).toBe(expected);
      expect(schedule.schedule_expression_timezone).toBe(dev.timezone);
    }
    expect(() =>
      validateConfig({
        ...dev,
        maintenance: { optimizeSchedule: 'cron(0 3 * * ? *)', vacuumSchedule: 'cron(0 3 * * ? *)' },
      }),
    ).toThrow(/maintenance\.vacuumSchedule must differ from maintenance\.optimizeSchedule/);
  });

  test('messages that cannot be sent after retries go to a dead-letter queue whose alarm publishes to the alert topic', () => {
    const [queue] = resourceNamed(json, 'aws_sqs_queue', 'maintenance');
    for (const { target } of targets) {
      expect(target.dead_letter_config).toEqual({ arn: ref('aws_sqs_queue', queue, 'arn') });
    }
    const [, alarm] = resourceNamed(json, 'aws_cloudwatch_metric_alarm', 'maintenance');
    const [topic] = resourceNamed(json, 'aws_sns_topic', 'alertTopic');
    expect(alarm.dimensions).toEqual({ QueueName: ref('aws_sqs_queue', queue, 'name') });
    expect(alarm.alarm_actions).toEqual([ref('aws_sns_topic', topic, 'arn')]);
    expect(json.output.maintenance_dlq_url?.value).toBe(ref('aws_sqs_queue', queue, 'url'));
  });

  test('the role is trusted by Scheduler of this account only', () => {
    const [, role] = resourceNamed(json, 'aws_iam_role', 'maintenance');
    const [trust] = statementsOf(role.assume_role_policy);
    expect(trust?.Principal).toEqual({ Service: 'scheduler.amazonaws.com' });
    expect(trust?.Condition?.StringEquals?.['aws:SourceAccount']).toMatch(/aws_caller_identity/);
  });

  test('the schedule role may only send to the pending queue (with the key) and its dead letters', () => {
    expect(Object.keys(policy).sort()).toEqual(['DeadLetters', 'QueueMaintenance', 'UseProjectKey']);
    expect(policy.QueueMaintenance?.Resource).toEqual([ref('aws_sqs_queue', pendingQueue, 'arn')]);
  });

  test('the drain role starts queries in its workgroup, commits only the Iceberg tables, deletes only their files', () => {
    const policy = drainPolicy;
    expect(policy.RunMaintenanceQueries?.Resource).toEqual([ref('aws_athena_workgroup', workgroup, 'arn')]);
    const tableArns = resourcesOfStatement(policy.CommitTables ?? { Effect: 'Allow', Action: [] }).filter(
      (arn) => arn.includes(':table/'),
    );
    expect(tableArns.map((arn) => arn.split('/').pop()).sort()).toEqual(
      MANAGED_TABLES.map((t) => t.name).sort(),
    );
    const gold = ref('aws_s3_bucket', resourceNamed(json, 'aws_s3_bucket', 'goldBucket')[0], 'arn');
    const deletes = Object.values(policy).filter(
      (statement) => statement.Effect === 'Allow' && statement.Action.includes('s3:DeleteObject'),
    );
    expect(deletes.flatMap(resourcesOfStatement).every((arn) => arn.startsWith(`${gold}/`))).toBe(true);
    expect(deletes.flatMap(resourcesOfStatement)).toHaveLength(MANAGED_TABLES.length);
    const actions = Object.values(policy).flatMap((statement) => statement.Action);
    expect(actions.filter((action) => /^(glue:(Create|Delete)|s3:PutBucket|iam:)/.test(action))).toEqual([]);
  });

  test('a table name VACUUM would need backticks for is refused with the reason', () => {
    const table = { ...MANAGED_TABLES[0], name: '_hidden' } as (typeof MANAGED_TABLES)[number];
    expect(() => maintenanceStatement('vacuum', table)).toThrow(
      /table "_hidden": maintenance statements need/,
    );
  });
});
