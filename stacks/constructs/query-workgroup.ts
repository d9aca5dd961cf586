import { basename } from 'node:path';
import { AthenaNamedQuery } from '@cdktf/provider-aws/lib/athena-named-query';
import { AthenaWorkgroup } from '@cdktf/provider-aws/lib/athena-workgroup';
import { Construct } from 'constructs';
import { readSql, SETUP_FILES } from '../../workflow/steps';
import type { EnvironmentConfig } from '../config';
import type { AwsContext } from './aws-context';
import { ATHENA_RESULTS_PREFIX, type Storage } from './storage';

export interface QueryWorkgroupProps {
  readonly config: EnvironmentConfig;
  readonly context: AwsContext;
  readonly storage: Storage;
  readonly databaseName: string;
}

/**
 * The Athena workgroup every pipeline query runs in: engine v3 (Iceberg MERGE), results location and
 * SSE-KMS enforced over whatever a client asks for, and a bytes-scanned cutoff per query.
 * The catalog setup statements (the report view) are saved in it as named queries.
 */
export class QueryWorkgroup extends Construct {
  readonly workgroup: AthenaWorkgroup;

  constructor(scope: Construct, id: string, props: QueryWorkgroupProps) {
    super(scope, id);
    const { config, context, storage } = props;
    this.workgroup = new AthenaWorkgroup(this, 'workgroup', {
      name: config.namePrefix,
      description: 'agent-activity-etl pipeline and coverage-check queries',
      state: 'ENABLED',
      configuration: {
        enforceWorkgroupConfiguration: true,
        publishCloudwatchMetricsEnabled: true,
        bytesScannedCutoffPerQuery: config.athenaBytesScannedCutoff,
        engineVersion: { selectedEngineVersion: 'Athena engine version 3' },
        resultConfiguration: {
          outputLocation: storage.athenaResults.uri(`${ATHENA_RESULTS_PREFIX}/`),
          expectedBucketOwner: context.accountId,
          encryptionConfiguration: { encryptionOption: 'SSE_KMS', kmsKeyArn: storage.key.arn },
        },
      },
    });
    for (const file of SETUP_FILES) {
      new AthenaNamedQuery(this, `${basename(file, '.sql')}SetupQuery`, {
        name: `setup: ${file}`,
        description: 'Run once after the first deploy and after the file changes (docs/deploy.md)',
        workgroup: this.workgroup.name,
        database: props.databaseName,
        query: readSql(file),
      });
    }
  }

  get name(): string {
    return this.workgroup.name;
  }

  get arn(): string {
    return this.workgroup.arn;
  }
}
