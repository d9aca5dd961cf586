import validateAsl from 'asl-validator';
import { StateMachine, type StateMachineDefinition } from '../../local/step-functions';
import { checkStartJobRun, checkStartQueryExecution } from '../../local/strict-twin';
import { STATE_KEY_ALIAS } from '../../stacks/config';
import { COMPLETION_EVENT, GLUE_JOB_ARGUMENTS, LOAD_STATE } from '../../workflow/definition';
import { MANAGED_TABLES, SILVER_TABLES } from '../../workflow/tables';
import { sampleAnswer } from '../support/sample-answers';
import {
  environment,
  ref,
  resourceNamed,
  resourcesOf,
  STATE,
  synthBootstrap,
  synthPipeline,
  type TerraformJson,
} from './synth';

const dev = environment('dev');
const json = synthPipeline(dev);

const [jobName] = resourceNamed(json, 'aws_glue_job', 'loadJob');
const [workgroupName] = resourceNamed(json, 'aws_athena_workgroup', 'workgroup');
const [databaseName] = resourceNamed(json, 'aws_glue_catalog_database', 'database');
const [busName] = resourceNamed(json, 'aws_cloudwatch_event_bus', 'eventBus');
const [stateMachineName, stateMachine] = resourceNamed(json, 'aws_sfn_state_machine', 'stateMachine');
const bucketRef = (purpose: string) =>
  ref('aws_s3_bucket', resourceNamed(json, 'aws_s3_bucket', `${purpose}Bucket`)[0], 'bucket');

/** Replaces every Terraform reference in the definition by a sample value of the right shape. */
function withSampleValues(definition: string): unknown {
  const sample = definition.replace(
    /\$\{([a-z0-9_]+)\.([A-Za-z0-9_]+)\.([a-z_]+)\}/g,
    (_, type: string, _name, attribute: string) =>
      attribute === 'arn' ? `arn:aws:${type.split('_')[1]}:eu-west-1:123456789012:sample` : `sample-${type}`,
  );
  return JSON.parse(sample.replace(/\$\$\{/g, '${').replace(/%%\{/g, '%{'));
}

describe('storage', () => {
  const buckets = resourcesOf(json, 'aws_s3_bucket');

  test('five buckets, named per environment, account and region', () => {
    expect(Object.keys(buckets)).toHaveLength(5);
    for (const purpose of ['bronze', 'silver', 'gold', 'athena-results', 'assets']) {
      expect(Object.values(buckets).map((bucket) => bucket.bucket)).toContainEqual(
        expect.stringMatching(
          new RegExp(
            `^${dev.namePrefix}-${purpose}-\\$\\{data\\.aws_caller_identity\\..+\\}-\\$\\{data\\.aws_region\\..+\\}$`,
          ),
        ),
      );
    }
  });

  test('one KMS key, rotation on', () => {
    const keys = Object.values(resourcesOf(json, 'aws_kms_key'));
    expect(keys).toHaveLength(1);
    expect(keys[0]?.enable_key_rotation).toBe(true);
  });

  test('bronze is versioned, sends EventBridge notifications and ages out to cheaper storage', () => {
    const bronze = resourceNamed(json, 'aws_s3_bucket', 'bronzeBucket')[0];
    const bronzeId = ref('aws_s3_bucket', bronze, 'id');
    const versioning = Object.values(resourcesOf(json, 'aws_s3_bucket_versioning'));
    expect(versioning.map((v) => v.bucket)).toEqual([bronzeId]);
    expect(Object.values(resourcesOf(json, 'aws_s3_bucket_notification'))).toEqual([
      expect.objectContaining({ bucket: bronzeId, eventbridge: true }),
    ]);
    const lifecycle = Object.values(resourcesOf(json, 'aws_s3_bucket_lifecycle_configuration')).find(
      (config) => config.bucket === bronzeId,
    );
    const transitions = ((lifecycle?.rule ?? []) as { transition?: { storage_class: string }[] }[]).flatMap(
      (rule) => rule.transition ?? [],
    );
    expect(transitions.map((t) => t.storage_class)).toEqual(['STANDARD_IA', 'GLACIER_IR']);
  });

  test('Athena results expire', () => {
    const results = ref(
      'aws_s3_bucket',
      resourceNamed(json, 'aws_s3_bucket', 'athenaResultsBucket')[0],
      'id',
    );
    const lifecycle = Object.values(resourcesOf(json, 'aws_s3_bucket_lifecycle_configuration')).find(
      (config) => config.bucket === results,
    );
    expect(lifecycle?.rule).toContainEqual(
      expect.objectContaining({ expiration: [{ days: dev.retention.athenaResultsDays }], status: 'Enabled' }),
    );
  });
});

describe('catalog and compute', () => {
  const tables = Object.values(resourcesOf(json, 'aws_glue_catalog_table'));
  const tableNamed = (name: string) => {
    const table = tables.find((candidate) => candidate.name === name);
    if (!table) throw new Error(`no Glue table ${name}`);
    return table;
  };

  test('every table of workflow/tables.ts, with its columns in order', () => {
    for (const table of [...SILVER_TABLES, ...MANAGED_TABLES]) {
      const synthesized = tableNamed(table.name);
      expect(synthesized.database_name).toBe(ref('aws_glue_catalog_database', databaseName, 'name'));
      const descriptor = synthesized.storage_descriptor as { columns: { name: string; type: string }[] };
      expect(descriptor.columns.map(({ name, type }) => ({ name, type }))).toEqual(
        table.columns.map(({ name, type }) => ({ name, type })),
      );
    }
    expect(tables).toHaveLength(SILVER_TABLES.length + MANAGED_TABLES.length);
  });

  /** Tables Terraform writes the first Iceberg metadata file of, with the partition each must have. */
  const PARTITIONED: Record<string, { transform: string; column: string; type: string; field: string }> = {
    agent_intervals: {
      transform: 'day',
      column: 'interval_start',
      type: 'timestamp',
      field: 'interval_start_day',
    },
    weekly_summary: { transform: 'day', column: 'week_start', type: 'date', field: 'week_start_day' },
    // Identity fields are named after their column.
    pipeline_runs: { transform: 'identity', column: 'published', type: 'boolean', field: 'published' },
  };
  const objects = resourcesOf(json, 'aws_s3_object');
  const metadataObject = (table: string): [string, Record<string, unknown>] => {
    const found = Object.entries(objects).filter(([name]) => name.includes(`${table}Metadata`));
    if (found.length !== 1) throw new Error(`${found.length} metadata objects for ${table}`);
    return found[0] as [string, Record<string, unknown>];
  };

  test('gold, ops and staging tables are Iceberg in the gold bucket, never rolled back by Terraform', () => {
    for (const table of MANAGED_TABLES) {
      const synthesized = tableNamed(table.name);
      expect((synthesized.storage_descriptor as { location: string }).location).toBe(
        `s3://${bucketRef('gold')}/${table.layer}/${table.name}`,
      );
      const ignored = (synthesized.lifecycle as { ignore_changes: string[] }).ignore_changes;
      expect(ignored).toEqual(expect.arrayContaining(['parameters', 'storage_descriptor']));
      if (table.name in PARTITIONED) {
        // Registered on the metadata file Terraform writes; Glue must not create a table of its own.
        expect(synthesized.open_table_format_input).toBeUndefined();
        const [objectName] = metadataObject(table.name);
        expect(synthesized.parameters).toEqual({
          table_type: 'ICEBERG',
          metadata_location: `s3://${bucketRef('gold')}/${ref('aws_s3_object', objectName, 'key')}`,
        });
      } else {
        expect(synthesized.open_table_format_input).toEqual({
          iceberg_input: { metadata_operation: 'CREATE', version: '2' },
        });
      }
    }
    expect(MANAGED_TABLES.filter((table) => table.name in PARTITIONED)).toHaveLength(3);
  });

  test('agent_intervals is partitioned by day(interval_start), weekly_summary by day(week_start), pipeline_runs by identity(published)', () => {
    const [keyName] = resourceNamed(json, 'aws_kms_key', 'dataKey');
    for (const [tableName, partition] of Object.entries(PARTITIONED)) {
      const [, object] = metadataObject(tableName);
      const table = MANAGED_TABLES.find((candidate) => candidate.name === tableName);
      if (!table) throw new Error(`no managed table ${tableName}`);
      expect(object.bucket).toBe(bucketRef('gold'));
      expect(object.key).toMatch(
        new RegExp(
          `^${table.layer}/${tableName}/metadata/00000-[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}\\.metadata\\.json$`,
        ),
      );
      expect(object.server_side_encryption).toBe('aws:kms');
      expect(object.kms_key_id).toBe(ref('aws_kms_key', keyName, 'arn'));
      // Written once: Athena's commits own the table's later metadata.
      expect((object.lifecycle as { ignore_changes: string[] }).ignore_changes).toEqual(['content']);
      const metadata = JSON.parse(String(object.content)) as {
        'format-version': number;
        'table-uuid': string;
        location: string;
        schemas: { fields: { id: number; name: string; type: string }[] }[];
        'partition-specs': {
          'spec-id': number;
          fields: { transform: string; 'source-id': number; name: string }[];
        }[];
        'sort-orders': { 'order-id': number; fields: { 'source-id': number; direction: string }[] }[];
        'default-sort-order-id': number;
      };
      expect(metadata['format-version']).toBe(2);
      expect(metadata.location).toBe(`s3://${bucketRef('gold')}/${table.layer}/${tableName}`);
      expect(String(object.key)).toContain(metadata['table-uuid']);
      const fields = metadata.schemas[0]?.fields ?? [];
      expect(fields.map((field) => field.name)).toEqual(table.columns.map((column) => column.name));
      const source = fields.find((field) => field.name === partition.column);
      expect(source?.type).toBe(partition.type);
      expect(metadata['partition-specs']).toEqual([
        {
          'spec-id': 0,
          fields: [
            {
              name: partition.field,
              transform: partition.transform,
              'source-id': source?.id,
              'field-id': 1000,
            },
          ],
        },
      ]);
      const sortOrder = metadata['sort-orders'].find(
        (order) => order['order-id'] === metadata['default-sort-order-id'],
      );
      expect(sortOrder?.fields).toEqual([
        expect.objectContaining({ 'source-id': source?.id, direction: 'asc' }),
      ]);
    }
  });

  test('the metadata files read the same on every synth and differ between environments', () => {
    const again = resourcesOf(synthPipeline(dev), 'aws_s3_object');
    const prod = resourcesOf(synthPipeline(environment('prod')), 'aws_s3_object');
    const metadataOf = (found: Record<string, Record<string, unknown>>, table: string) =>
      Object.entries(found).find(([name]) => name.includes(`${table}Metadata`))?.[1];
    for (const table of Object.keys(PARTITIONED)) {
      const [, first] = metadataObject(table);
      expect(metadataOf(again, table)).toEqual(first);
      const uuid = (object: Record<string, unknown> | undefined) =>
        (JSON.parse(String(object?.content)) as { 'table-uuid': string })['table-uuid'];
      expect(uuid(metadataOf(prod, table))).not.toBe(uuid(first));
    }
  });

  test('silver events are Parquet with partition projection on event_date, filled in by Athena', () => {
    const events = tableNamed('agent_events');
    const parameters = events.parameters as Record<string, string>;
    expect(parameters['projection.enabled']).toBe('true');
    expect(parameters['projection.event_date.type']).toBe('date');
    expect(parameters['storage.location.template']).toBe(
      `s3://${bucketRef('silver')}/agent_events/event_date=$\${event_date}/`,
    );
    expect(events.partition_keys).toEqual([expect.objectContaining({ name: 'event_date', type: 'date' })]);
  });

  test('a crawler over bronze writes bronze_* tables into the database', () => {
    const [, crawler] = resourceNamed(json, 'aws_glue_crawler', 'bronzeCrawler');
    expect(crawler.s3_target).toEqual([{ path: `s3://${bucketRef('bronze')}/` }]);
    expect(crawler.table_prefix).toBe('bronze_');
    expect(crawler.database_name).toBe(ref('aws_glue_catalog_database', databaseName, 'name'));
  });

  test('the Glue 5 job runs the uploaded script and knows where silver and the contract are', () => {
    const [, job] = resourceNamed(json, 'aws_glue_job', 'loadJob');
    expect(job.glue_version).toBe('5.0');
    const [scriptObject, script] = resourceNamed(json, 'aws_s3_object', 'script');
    const [contractObject, contract] = resourceNamed(json, 'aws_s3_object', 'contract');
    expect(script.bucket).toBe(bucketRef('assets'));
    expect(String(script.source)).toMatch(/csv_to_parquet\.py$/);
    expect(String(contract.source)).toMatch(/input-contract\.json$/);
    expect((job.command as { script_location: string }).script_location).toBe(
      `s3://${bucketRef('assets')}/${ref('aws_s3_object', scriptObject, 'key')}`,
    );
    expect(job.default_arguments).toEqual(
      expect.objectContaining({
        '--silver_bucket': bucketRef('silver'),
        '--contract_path': `s3://${bucketRef('assets')}/${ref('aws_s3_object', contractObject, 'key')}`,
      }),
    );
  });

  test('the Athena workgroup enforces encrypted results and a bytes-scanned cutoff', () => {
    const [, workgroup] = resourceNamed(json, 'aws_athena_workgroup', 'workgroup');
    const configuration = workgroup.configuration as Record<string, unknown>;
    expect(configuration.enforce_workgroup_configuration).toBe(true);
    expect(configuration.bytes_scanned_cutoff_per_query).toBe(dev.athenaBytesScannedCutoff);
    const result = configuration.result_configuration as Record<string, unknown>;
    expect(result.output_location).toBe(`s3://${bucketRef('athenaResults')}/athena/`);
    expect(result.encryption_configuration).toEqual({
      encryption_option: 'SSE_KMS',
      kms_key_arn: ref('aws_kms_key', resourceNamed(json, 'aws_kms_key', 'dataKey')[0], 'arn'),
    });
  });
});

describe('orchestration', () => {
  const definition = String(stateMachine.definition);

  test('a standard workflow with logging to a retained log group and X-Ray tracing', () => {
    expect(stateMachine.type).toBe('STANDARD');
    const [logGroup, group] = resourceNamed(json, 'aws_cloudwatch_log_group', 'orchestration');
    expect(group.retention_in_days).toBe(dev.retention.logDays);
    expect(stateMachine.logging_configuration).toEqual(
      expect.objectContaining({
        log_destination: `${ref('aws_cloudwatch_log_group', logGroup, 'arn')}:*`,
        level: 'ALL',
      }),
    );
    expect(stateMachine.tracing_configuration).toEqual({ enabled: true });
  });

  test('the definition calls the synthesized job, workgroup, database, event bus and run-failed function', () => {
    const asl = withSampleValues(definition) as {
      States: Record<string, { Parameters?: Record<string, unknown> }>;
    };
    expect(definition).toContain(`"JobName":"${ref('aws_glue_job', jobName, 'name')}"`);
    expect(definition).toContain(`"WorkGroup":"${ref('aws_athena_workgroup', workgroupName, 'name')}"`);
    expect(definition).toContain(`"Database":"${ref('aws_glue_catalog_database', databaseName, 'name')}"`);
    expect(definition).toContain(`"EventBusName":"${ref('aws_cloudwatch_event_bus', busName, 'name')}"`);
    const load = asl.States[LOAD_STATE]?.Parameters?.Arguments as Record<string, string>;
    expect(Object.keys(load).map((key) => key.replace(/\.\$$/, ''))).toEqual([...GLUE_JOB_ARGUMENTS]);
    const [runFailedName] = resourceNamed(json, 'aws_lambda_function', 'runFailed');
    // Every Terraform reference in the definition points at one of those five resources.
    const references = new Set(definition.match(/\$\{[^}]+\}/g));
    expect([...references].sort()).toEqual(
      [
        ref('aws_glue_job', jobName, 'name'),
        ref('aws_athena_workgroup', workgroupName, 'name'),
        ref('aws_glue_catalog_database', databaseName, 'name'),
        ref('aws_cloudwatch_event_bus', busName, 'name'),
        ref('aws_lambda_function', runFailedName, 'arn'),
        // The check-summary function and the alert topic are named, not referenced (they are made later).
        ...[...references].filter((reference) => reference.startsWith('${data.aws_')),
      ].sort(),
    );
    const [checkName, check] = resourceNamed(json, 'aws_lambda_function', 'checkSummaryFunction');
    const [, topic] = resourceNamed(json, 'aws_sns_topic', 'alertTopic');
    expect(checkName).toBeDefined();
    expect(definition).toContain(`:function:${check.function_name}"`);
    expect(definition).toContain(`:${topic.name}"`);
  });

  test('every request of the synthesized definition passes the strict twin, hostile key and 30 KB cause included', async () => {
    const asl = withSampleValues(definition) as {
      States: Record<string, { Type: string; Resource?: string }>;
    };
    const key = `exports/o'brien's "shift", [1] {a,b} *?.csv`;
    for (const failIn of [undefined, 'MergeIntervals', LOAD_STATE]) {
      const requests: { state: string; input: unknown }[] = [];
      const handlers: Record<string, (input: unknown) => Promise<unknown>> = {};
      for (const [name, state] of Object.entries(asl.States)) {
        if (state.Type !== 'Task') continue;
        handlers[name] = async (input) => {
          requests.push({ state: name, input });
          if (name === failIn)
            throw Object.assign(new Error('x'.repeat(30 * 1024)), { name: 'States.TaskFailed' });
          return sampleAnswer(state.Resource);
        };
      }
      const machine = new StateMachine(asl as StateMachineDefinition, {
        validationOptions: { noValidate: true },
      });
      const execution = machine.run(
        { bucket: 'sample-bronze', key, etag: '9b2cf535f27731c974343645a3985328' },
        {
          overrides: {
            taskResourceLocalHandlers: handlers as never,
            retryIntervalOverrides: Object.fromEntries(Object.keys(asl.States).map((name) => [name, 0])),
          },
          context: { Execution: { Name: "run'1", Id: 'arn:sample', StartTime: '2024-11-19T01:02:03.456Z' } },
        },
      );
      await execution.result.catch(() => undefined);
      const athena = requests.filter((r) => asl.States[r.state]?.Resource?.includes(':athena:startQuery'));
      expect(athena.length).toBeGreaterThanOrEqual(failIn ? 2 : 7);
      for (const { input } of athena) expect(() => checkStartQueryExecution(input as never)).not.toThrow();
      const load = requests.find((r) => r.state === LOAD_STATE);
      expect(checkStartJobRun(load?.input, GLUE_JOB_ARGUMENTS)['--source_key']).toBe(key);
    }
  });

  test('the definition validates with asl-validator once references are sample values', () => {
    const result = validateAsl(withSampleValues(definition));
    expect(result.errorsText()).toBe('');
    expect(result.isValid).toBe(true);
  });

  test('the bronze rule matches CSVs created in bronze (its targets: __tests__/stacks/serialization.test.ts)', () => {
    const [, rule] = resourceNamed(json, 'aws_cloudwatch_event_rule', 'bronzeRule');
    expect(JSON.parse(String(rule.event_pattern))).toEqual({
      source: ['aws.s3'],
      'detail-type': ['Object Created'],
      detail: {
        bucket: { name: [bucketRef('bronze')] },
        object: { key: [{ suffix: { 'equals-ignore-case': '.csv' } }] },
      },
    });
    expect(rule.event_bus_name).toBeUndefined();
  });

  test('every pipeline execution that fails, times out or is aborted invokes run-failed, dead letters kept', () => {
    const [ruleName, rule] = resourceNamed(json, 'aws_cloudwatch_event_rule', 'backstopRule');
    expect(rule.event_bus_name).toBeUndefined();
    expect(JSON.parse(String(rule.event_pattern))).toEqual({
      source: ['aws.states'],
      'detail-type': ['Step Functions Execution Status Change'],
      detail: {
        status: ['FAILED', 'TIMED_OUT', 'ABORTED'],
        stateMachineArn: [ref('aws_sfn_state_machine', stateMachineName, 'arn')],
      },
    });
    const [fnName] = resourceNamed(json, 'aws_lambda_function', 'runFailed');
    const [, target] = resourceNamed(json, 'aws_cloudwatch_event_target', 'backstopTarget');
    expect(target.rule).toBe(ref('aws_cloudwatch_event_rule', ruleName, 'name'));
    expect(target.arn).toBe(ref('aws_lambda_function', fnName, 'arn'));
    expect(target.dead_letter_config).toBeDefined();
    const [, permission] = resourceNamed(json, 'aws_lambda_permission', 'backstopInvokePermission');
    expect(permission.source_arn).toBe(ref('aws_cloudwatch_event_rule', ruleName, 'arn'));
  });

  test('completion events go to the pipeline bus, where the check-summary rule listens', () => {
    const [, rule] = resourceNamed(json, 'aws_cloudwatch_event_rule', 'completionRule');
    expect(rule.event_bus_name).toBe(ref('aws_cloudwatch_event_bus', busName, 'name'));
    expect(JSON.parse(String(rule.event_pattern))).toEqual({
      source: [COMPLETION_EVENT.source],
      'detail-type': [COMPLETION_EVENT.detailType],
    });
  });
});

describe('stack', () => {
  test('state in S3: encrypted with the state key, natively locked, one key per stack', () => {
    expect(json.terraform.backend.s3).toEqual({
      bucket: STATE.bucket,
      key: `${STATE.keyPrefix}/dev.tfstate`,
      region: STATE.region,
      encrypt: true,
      kms_key_id: STATE_KEY_ALIAS,
      use_lockfile: true,
    });
    expect((synthPipeline(environment('prod')).terraform.backend.s3 as { key: string }).key).toBe(
      `${STATE.keyPrefix}/prod.tfstate`,
    );
  });

  test('every resource is tagged with project, environment and managed-by', () => {
    expect(json.provider.aws[0]?.default_tags).toEqual([
      { tags: { project: 'agent-activity-etl', environment: 'dev', 'managed-by': 'cdktf' } },
    ]);
  });

  test('outputs name what operators look up', () => {
    for (const output of [
      'bronze_bucket',
      'silver_bucket',
      'gold_bucket',
      'athena_results_bucket',
      'assets_bucket',
      'state_machine_arn',
      'athena_workgroup',
      'glue_database',
      'state_machine_log_group',
      'glue_job_output_log_group',
      'glue_job_error_log_group',
      'check_summary_log_group',
      'notify_log_group',
      'alert_topic_arn',
    ]) {
      expect(json.output[output]?.value).toMatch(/^\$\{.+\}$/);
    }
  });

  test('the bootstrap stack makes a versioned, encrypted, locked-down state bucket with local state', () => {
    const bootstrap: TerraformJson = synthBootstrap();
    expect(Object.keys(bootstrap.terraform.backend)).toEqual(['local']);
    const [bucketName, bucket] = resourceNamed(bootstrap, 'aws_s3_bucket', 'stateBucket');
    expect(bucket.bucket).toBe(STATE.bucket);
    const id = ref('aws_s3_bucket', bucketName, 'id');
    expect(Object.values(resourcesOf(bootstrap, 'aws_s3_bucket_versioning'))[0]?.bucket).toBe(id);
    expect(Object.values(resourcesOf(bootstrap, 'aws_s3_bucket_public_access_block'))[0]?.bucket).toBe(id);
    expect(
      Object.values(resourcesOf(bootstrap, 'aws_s3_bucket_server_side_encryption_configuration'))[0]?.bucket,
    ).toBe(id);
  });
});
