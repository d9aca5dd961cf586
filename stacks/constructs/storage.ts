import { S3BucketNotification } from '@cdktf/provider-aws/lib/s3-bucket-notification';
import { Construct } from 'constructs';
import type { EnvironmentConfig } from '../config';
import type { AwsContext } from './aws-context';
import { EncryptionKey } from './encryption-key';
import { GLUE_LOG_STREAMS, glueLogGroupPrefix } from './glue-logs';
import { SecureBucket, type SecureBucketProps } from './secure-bucket';

type BucketOptions = Pick<SecureBucketProps, 'versioned' | 'lifecycleRules'>;

export interface StorageProps {
  readonly config: EnvironmentConfig;
  readonly context: AwsContext;
}

/** Prefix of Athena query results in the results bucket (the workgroup enforces it). */
export const ATHENA_RESULTS_PREFIX = 'athena';

/**
 * The lake: one KMS key and five buckets (bronze raw drops, silver Parquet, gold Iceberg tables,
 * Athena results, deployment assets). Names carry account and region, so they are unique.
 */
export class Storage extends Construct {
  readonly key: EncryptionKey;
  readonly bronze: SecureBucket;
  readonly silver: SecureBucket;
  readonly gold: SecureBucket;
  readonly athenaResults: SecureBucket;
  readonly assets: SecureBucket;

  constructor(scope: Construct, id: string, props: StorageProps) {
    super(scope, id);
    const { config, context } = props;
    const { retention } = config;
    this.key = new EncryptionKey(this, 'dataKey', {
      alias: config.namePrefix,
      description: `${config.namePrefix}: lake buckets, alert topic and alert table`,
      context,
      // CloudWatch alarms publish to the encrypted alert topic as the service itself; EventBridge sends
      // to the encrypted pending-objects queue (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-key-management.html).
      servicePrincipals: ['cloudwatch.amazonaws.com', 'events.amazonaws.com'],
      statements: [
        {
          // CloudWatch Logs encrypts the Glue job's log groups with the key, for those groups only
          // (https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/encrypt-log-data-kms.html).
          Sid: 'CloudWatchLogsEncryptsGlueJobLogs',
          Principal: { Service: `logs.${context.region}.amazonaws.com` },
          Action: [
            'kms:Encrypt',
            'kms:Decrypt',
            'kms:ReEncryptFrom',
            'kms:ReEncryptTo',
            'kms:GenerateDataKey',
            'kms:GenerateDataKeyWithoutPlaintext',
            'kms:DescribeKey',
          ],
          Resource: '*',
          Condition: {
            ArnEquals: {
              'kms:EncryptionContext:aws:logs:arn': GLUE_LOG_STREAMS.map((stream) =>
                context.logGroupArn(`${glueLogGroupPrefix(config)}/${stream}`),
              ),
            },
          },
        },
      ],
      protect: config.protectData,
    });
    const bucket = (id: string, purpose: string, options: BucketOptions = {}) =>
      new SecureBucket(this, id, {
        bucketName: `${config.namePrefix}-${purpose}-${context.accountId}-${context.region}`,
        kmsKeyArn: this.key.arn,
        ...options,
      });

    this.bronze = bucket('bronzeBucket', 'bronze', {
      versioned: true,
      lifecycleRules: [
        {
          id: 'age-out-raw-drops',
          status: 'Enabled',
          filter: [{}],
          transition: [
            { days: retention.bronzeInfrequentAccessDays, storageClass: 'STANDARD_IA' },
            { days: retention.bronzeArchiveDays, storageClass: 'GLACIER_IR' },
          ],
          noncurrentVersionExpiration: [{ noncurrentDays: retention.bronzeNoncurrentDays }],
        },
      ],
    });
    this.silver = bucket('silverBucket', 'silver');
    this.gold = bucket('goldBucket', 'gold');
    this.athenaResults = bucket('athenaResultsBucket', 'athena-results', {
      lifecycleRules: [
        {
          id: 'expire-query-results',
          status: 'Enabled',
          filter: [{}],
          expiration: [{ days: retention.athenaResultsDays }],
        },
      ],
    });
    this.assets = bucket('assetsBucket', 'assets');

    new S3BucketNotification(this, 'bronzeEventBridgeNotification', {
      bucket: this.bronze.bucket.id,
      eventbridge: true,
    });
  }
}
