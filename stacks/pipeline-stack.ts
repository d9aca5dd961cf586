import { join } from 'node:path';
import { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { Aspects, TerraformOutput, TerraformStack } from 'cdktf';
import type { Construct } from 'constructs';
import { type EnvironmentConfig, PROJECT, type StateConfig } from './config';
import { AwsContext } from './constructs/aws-context';
import { boundaryPolicyArn, PermissionsBoundaryAspect } from './constructs/boundary';
import { Catalog } from './constructs/catalog';
import { LoadJob } from './constructs/load-job';
import { Maintenance } from './constructs/maintenance';
import { Monitoring } from './constructs/monitoring';
import { prebundle } from './constructs/node-function';
import { Notifications } from './constructs/notifications';
import { Orchestration, pipelineName } from './constructs/orchestration';
import { QueryWorkgroup } from './constructs/query-workgroup';
import { RunFailed } from './constructs/run-failed';
import { Serialization } from './constructs/serialization';
import { Storage } from './constructs/storage';
import { remoteState } from './remote-state';

export interface PipelineStackProps {
  readonly config: EnvironmentConfig;
  readonly state: StateConfig;
  /** Repository root: the Glue script, the input contract and the handlers are read from here. */
  readonly projectRoot: string;
}

/** One environment of the pipeline: the constructs, wired; outputs for what operators look up. */
export class PipelineStack extends TerraformStack {
  constructor(scope: Construct, id: string, props: PipelineStackProps) {
    super(scope, id);
    const { config, projectRoot } = props;
    new AwsProvider(this, 'aws', {
      region: config.region,
      defaultTags: [{ tags: { project: PROJECT, environment: config.environment, 'managed-by': 'cdktf' } }],
    });
    remoteState(this, id, props.state);

    const context = new AwsContext(this, 'context');
    // Every role carries the environment's boundary, which the bootstrap stack owns (docs/deploy.md).
    Aspects.of(this).add(
      new PermissionsBoundaryAspect(
        boundaryPolicyArn(context.partition, context.accountId, config.environment),
      ),
    );
    const storage = new Storage(this, 'storage', { config, context });
    const catalog = new Catalog(this, 'catalog', { config, context, storage });
    const databaseName = catalog.database.name;
    const workgroup = new QueryWorkgroup(this, 'queryWorkgroup', { config, context, storage, databaseName });
    const loadJob = new LoadJob(this, 'loadJob', {
      config,
      context,
      storage,
      scriptPath: join(projectRoot, 'glue-scripts', 'csv_to_parquet.py'),
      contractPath: join(projectRoot, 'workflow', 'input-contract.json'),
    });
    const bundleRoot = join(projectRoot, '.gen', 'lambda');
    const entry = (handler: string) => join(projectRoot, 'handlers', handler, 'index.ts');
    prebundle([entry('run-failed'), entry('notify'), entry('check-summary')], bundleRoot);
    const runFailed = new RunFailed(this, 'runFailed', {
      config,
      context,
      storage,
      workgroupName: workgroup.name,
      workgroupArn: workgroup.arn,
      databaseName,
      stateMachineName: pipelineName(config),
      eventBusName: pipelineName(config),
      entry: entry('run-failed'),
      bundleRoot,
    });
    const orchestration = new Orchestration(this, 'orchestration', {
      config,
      context,
      storage,
      glueJobName: loadJob.job.name,
      glueJobArn: loadJob.job.arn,
      workgroupName: workgroup.name,
      workgroupArn: workgroup.arn,
      databaseName,
      runFailedFunctionArn: runFailed.function.arn,
    });
    runFailed.watch(orchestration.stateMachine.arn);
    const notifications = new Notifications(this, 'notifications', {
      config,
      context,
      key: storage.key,
      notifyEntry: entry('notify'),
      bundleRoot,
    });
    const serialization = new Serialization(this, 'serialization', {
      config,
      context,
      key: storage.key,
      pipelineStateMachineName: orchestration.stateMachine.name,
      pipelineStateMachineArn: orchestration.stateMachine.arn,
      pipelineTimeoutSeconds: orchestration.pipelineTimeoutSeconds,
      runFailedFunctionArn: runFailed.function.arn,
      bronzeRuleArn: orchestration.bronzeRule.arn,
      alertTopicArn: notifications.topic.arn,
      storage,
      workgroupName: workgroup.name,
      workgroupArn: workgroup.arn,
      databaseName,
    });
    orchestration.routeBronzeObjects(serialization);
    const monitoring = new Monitoring(this, 'monitoring', {
      config,
      context,
      storage,
      orchestration,
      notifications,
      workgroupName: workgroup.name,
      workgroupArn: workgroup.arn,
      databaseName,
      checkSummaryEntry: entry('check-summary'),
      runFailedFunction: runFailed.function,
      bundleRoot,
    });
    const maintenance = new Maintenance(this, 'maintenance', {
      config,
      context,
      storage,
      pendingQueue: serialization.queue,
      alertTopicArn: notifications.topic.arn,
    });

    const outputs: Record<string, string> = {
      bronze_bucket: storage.bronze.name,
      silver_bucket: storage.silver.name,
      gold_bucket: storage.gold.name,
      athena_results_bucket: storage.athenaResults.name,
      assets_bucket: storage.assets.name,
      kms_key_arn: storage.key.arn,
      state_machine_arn: orchestration.stateMachine.arn,
      event_bus_name: orchestration.eventBus.name,
      bronze_rule_dlq_url: orchestration.bronzeRuleDeadLetterQueue.url,
      pending_queue_url: serialization.queue.url,
      drain_state_machine_arn: serialization.stateMachine.arn,
      lock_table_name: serialization.lockTable.name,
      athena_workgroup: workgroup.name,
      glue_database: databaseName,
      glue_job_name: loadJob.job.name,
      bronze_crawler_name: catalog.crawler.name,
      alert_topic_arn: notifications.topic.arn,
      alert_audit_queue_url: notifications.auditQueue.url,
      alert_state_table: monitoring.alertStateTable.name,
      check_summary_function: monitoring.checkSummaryFunction.name,
      notify_function: notifications.notifyFunction.name,
      run_failed_function: runFailed.function.name,
      state_machine_log_group: orchestration.logGroup.name,
      glue_job_output_log_group: loadJob.logGroups.output.name,
      glue_job_error_log_group: loadJob.logGroups.error.name,
      check_summary_log_group: monitoring.checkSummaryFunction.logGroup.name,
      notify_log_group: notifications.notifyFunction.logGroup.name,
      maintenance_dlq_url: maintenance.deadLetterQueue.url,
    };
    for (const [name, value] of Object.entries(outputs)) {
      new TerraformOutput(this, name, { value });
    }
  }
}
