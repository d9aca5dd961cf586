import { basename } from 'node:path';
import { CloudwatchLogGroup } from '@cdktf/provider-aws/lib/cloudwatch-log-group';
import { GlueJob } from '@cdktf/provider-aws/lib/glue-job';
import { S3Object } from '@cdktf/provider-aws/lib/s3-object';
import { AssetType, Fn, TerraformAsset } from 'cdktf';
import { Construct } from 'constructs';
import { AGENT_EVENTS, EVENT_EXTENTS, LOADED_DAYS, REJECTED_ROWS } from '../../workflow/tables';
import type { EnvironmentConfig } from '../config';
import type { AwsContext } from './aws-context';
import { tablePrefix } from './catalog';
import { GLUE_LOG_STREAMS, type GlueLogStream, glueLogGroupPrefix } from './glue-logs';
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
  /** The job's two log groups: `output` (the script's stdout and stderr) and `error` (driver and Spark logs). */
  readonly logGroups: Record<GlueLogStream, CloudwatchLogGroup>;

  constructor(scope: Construct, id: string, props: LoadJobProps) {
    super(scope, id);
    const { config, context, storage } = props;
    const script = uploadAsset(this, 'script', storage.assets, props.scriptPath);
    const contract = uploadAsset(this, 'contract', storage.assets, props.contractPath);
    const jobName = `${config.namePrefix}-csv-to-parquet`;

    const logGroupPrefix = glueLogGroupPrefix(config);
    const logGroupArn = (stream: GlueLogStream) => context.logGroupArn(`${logGroupPrefix}/${stream}`);
    const logGroup = (stream: GlueLogStream) =>
      new CloudwatchLogGroup(this, `${stream}LogGroup`, {
        name: `${logGroupPrefix}/${stream}`,
        retentionInDays: config.retention.logDays,
        // The lake key's policy lets CloudWatch Logs use it for these groups (storage.ts).
        kmsKeyId: storage.key.arn,
      });
    this.logGroups = { output: logGroup('output'), error: logGroup('error') };

    const silverPrefixes = [
      tablePrefix(AGENT_EVENTS),
      tablePrefix(REJECTED_ROWS),
      tablePrefix(EVENT_EXTENTS),
      tablePrefix(LOADED_DAYS),
      SILVER_STAGING_PREFIX,
      SILVER_MANIFEST_PREFIX,
    ];
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
          // Glue asks for its groups before writing; they exist, so CreateLogGroup makes nothing.
          Sid: 'JobLogs',
          Action: ['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:PutLogEvents'],
          Resource: GLUE_LOG_STREAMS.flatMap((stream) => [
            logGroupArn(stream),
            `${logGroupArn(stream)}:log-stream:*`,
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
        '--custom-logGroup-prefix': logGroupPrefix,
        '--silver_bucket': storage.silver.name,
        '--contract_path': `s3://${storage.assets.name}/${contract.key}`,
      },
    });
  }
}
