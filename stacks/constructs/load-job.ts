import { basename } from 'node:path';
import { CloudwatchLogGroup } from '@cdktf/provider-aws/lib/cloudwatch-log-group';
import { GlueJob } from '@cdktf/provider-aws/lib/glue-job';
import { S3Object } from '@cdktf/provider-aws/lib/s3-object';
import { AssetType, Fn, TerraformAsset } from 'cdktf';
import { Construct } from 'constructs';
import { AGENT_EVENTS, REJECTED_ROWS } from '../../workflow/tables';
import type { EnvironmentConfig } from '../config';
import type { AwsContext } from './aws-context';
import { tablePrefix } from './catalog';
import { ServiceRole } from './iam';
import type { SecureBucket } from './secure-bucket';
import type { Storage } from './storage';

/** Silver prefixes the job writes besides the tables: its staging area and one manifest per source object. */
export const SILVER_STAGING_PREFIX = '_staging';
export const SILVER_MANIFEST_PREFIX = '_manifests';

export interface LoadJobProps {
  readonly config: EnvironmentConfig;
  readonly context: AwsContext;
  readonly storage: Storage;
  /** Absolute paths of the Glue script and of the input contract it reads. */
  readonly scriptPath: string;
  readonly contractPath: string;
}

/** Uploads a local file to the assets bucket under a content-addressed key. */
function uploadAsset(scope: Construct, id: string, bucket: SecureBucket, path: string): S3Object {
  const asset = new TerraformAsset(scope, `${id}Asset`, { path, type: AssetType.FILE });
  return new S3Object(scope, id, {
    bucket: bucket.name,
    key: `glue/${asset.assetHash}/${basename(path)}`,
    source: asset.path,
    sourceHash: Fn.filemd5(asset.path),
  });
}

/** The CSV-to-Parquet Glue job (glue-scripts/), its script and contract as assets, its role and logs. */
export class LoadJob extends Construct {
  readonly job: GlueJob;
  readonly logGroup: CloudwatchLogGroup;

  constructor(scope: Construct, id: string, props: LoadJobProps) {
    super(scope, id);
    const { config, context, storage } = props;
    const script = uploadAsset(this, 'script', storage.assets, props.scriptPath);
    const contract = uploadAsset(this, 'contract', storage.assets, props.contractPath);
    const jobName = `${config.namePrefix}-csv-to-parquet`;

    this.logGroup = new CloudwatchLogGroup(this, 'logGroup', {
      name: `/aws-glue/jobs/${jobName}`,
      retentionInDays: config.retention.logDays,
    });

    const silverPrefixes = [
      tablePrefix(AGENT_EVENTS),
      tablePrefix(REJECTED_ROWS),
      SILVER_STAGING_PREFIX,
      SILVER_MANIFEST_PREFIX,
    ];
    // Glue writes driver output and errors to these two fixed groups whatever the job sets.
    const glueOutputGroups = ['/aws-glue/jobs/output', '/aws-glue/jobs/error'];
    const role = new ServiceRole(this, 'role', {
      name: jobName,
      description: 'Glue load job: reads a bronze object, writes silver events and rejects',
      service: 'glue.amazonaws.com',
      statements: [
        { Sid: 'ReadBronze', Action: ['s3:GetObject'], Resource: [storage.bronze.objectsArn()] },
        { Sid: 'ReadAssets', Action: ['s3:GetObject'], Resource: [storage.assets.objectsArn('glue')] },
        {
          Sid: 'ListSilver',
          Action: ['s3:ListBucket'],
          Resource: [storage.silver.arn],
          Condition: {
            StringLike: { 's3:prefix': silverPrefixes.flatMap((prefix) => [prefix, `${prefix}/*`]) },
          },
        },
        {
          Sid: 'LocateBuckets',
          Action: ['s3:GetBucketLocation'],
          Resource: [storage.bronze.arn, storage.silver.arn],
        },
        {
          Sid: 'WriteSilver',
          Action: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject', 's3:AbortMultipartUpload'],
          // `prefix*` rather than `prefix/*`: Spark also probes the prefix itself as a key.
          Resource: silverPrefixes.map((prefix) => `${storage.silver.arn}/${prefix}*`),
        },
        { Sid: 'UseLakeKey', Action: ['kms:Decrypt', 'kms:GenerateDataKey'], Resource: [storage.key.arn] },
        {
          Sid: 'JobLogs',
          Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
          Resource: [this.logGroup.arn, `${this.logGroup.arn}:log-stream:*`],
        },
        {
          Sid: 'GlueOutputLogs',
          Action: ['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:PutLogEvents'],
          Resource: glueOutputGroups.flatMap((group) => [
            context.logGroupArn(group),
            context.logStreamsArn(group),
          ]),
        },
      ],
    });

    this.job = new GlueJob(this, 'job', {
      name: jobName,
      description: 'Bronze CSV to silver Parquet (agent_events by event_date) and rejected_rows',
      roleArn: role.arn,
      glueVersion: '5.0',
      workerType: 'G.1X',
      numberOfWorkers: 2,
      timeout: 30,
      // The state machine owns retries; a retried job would race the one still cleaning up.
      maxRetries: 0,
      executionProperty: { maxConcurrentRuns: 10 },
      command: {
        name: 'glueetl',
        pythonVersion: '3',
        scriptLocation: `s3://${storage.assets.name}/${script.key}`,
      },
      defaultArguments: {
        '--job-language': 'python',
        '--enable-continuous-cloudwatch-log': 'true',
        '--continuous-log-logGroup': this.logGroup.name,
        '--silver_bucket': storage.silver.name,
        '--contract_path': `s3://${storage.assets.name}/${contract.key}`,
      },
    });
  }
}
