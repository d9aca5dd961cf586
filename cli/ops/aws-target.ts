import { readFileSync } from 'node:fs';
import { AthenaClient } from '@aws-sdk/client-athena';
import { HeadObjectCommand, ListObjectsV2Command, NotFound, S3Client } from '@aws-sdk/client-s3';
import {
  type ExecutionListItem,
  ListExecutionsCommand,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { z } from 'zod';
import { AthenaQueryEngine } from '../../handlers/aws/athena-query-engine';
import { type OperatingSchedule, parseOperatingSchedule } from '../../handlers/coverage-check/schedule';
import { ENVIRONMENTS, type EnvironmentConfig } from '../../stacks/config';
import type { BronzeObject, ExecutionSummary, OpsTarget, Progress, Submission } from './target';

/**
 * The stack outputs the commands use. They are the one source of resource names: `cdktf output` writes
 * them (`npx cdktf output dev --outputs-file cdktf-outputs.json`), keyed by stack.
 */
const StackOutputsSchema = z.object({
  bronze_bucket: z.string().min(1),
  state_machine_arn: z.string().min(1),
  athena_workgroup: z.string().min(1),
  glue_database: z.string().min(1),
  pending_queue_url: z.string().min(1),
  drain_state_machine_arn: z.string().min(1),
});
export type StackOutputs = z.output<typeof StackOutputsSchema>;

export function readStackOutputs(file: string, environment: string): StackOutputs {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new Error(
      `${file}: cannot read the stack outputs (${(error as Error).message}); write them with \`npx cdktf output ${environment} --outputs-file ${file}\``,
    );
  }
  const stack = (json as Record<string, unknown> | null)?.[environment];
  if (stack === undefined) throw new Error(`${file}: no outputs for stack '${environment}'`);
  const parsed = StackOutputsSchema.safeParse(stack);
  if (!parsed.success) {
    const missing = parsed.error.issues.map((issue) => issue.path.join('.')).join(', ');
    throw new Error(
      `${file}: stack '${environment}' lacks the outputs ${missing}; deploy the current stacks first`,
    );
  }
  return parsed.data;
}

export function environmentConfig(environment: string): EnvironmentConfig {
  const config = ENVIRONMENTS.find((candidate) => candidate.environment === environment);
  if (!config) {
    throw new Error(
      `no environment '${environment}' in stacks/config.ts (${ENVIRONMENTS.map((e) => e.environment).join(', ')})`,
    );
  }
  return config;
}

/** `s3://bucket/key` or `bucket/key`. */
export function parseS3Location(text: string): { bucket: string; key: string } {
  const path = text.startsWith('s3://') ? text.slice('s3://'.length) : text;
  const slash = path.indexOf('/');
  if (slash <= 0) return { bucket: path, key: '' };
  return { bucket: path.slice(0, slash), key: path.slice(slash + 1) };
}

/** S3 quotes ETags; EventBridge's Object Created events and pipeline_runs carry them bare. */
const bareEtag = (etag: string | undefined): string => (etag ?? '').replaceAll('"', '');

/**
 * SendMessageBatch takes at most 10 entries (and 1 MiB in all; a message here is under 2 KiB).
 * https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessageBatch.html
 */
export const SQS_BATCH_SIZE = 10;

/**
 * ListExecutions returns at most 1,000 executions a page, the most recent first.
 * https://docs.aws.amazon.com/step-functions/latest/apireference/API_ListExecutions.html
 */
const EXECUTIONS_PAGE = 1000;

export interface AwsTargetOptions {
  readonly environment: string;
  readonly region?: string;
  readonly outputsFile: string;
  readonly timeZone?: string;
}

/** A deployed environment, reached with the standard AWS credential chain. */
export class AwsTarget implements OpsTarget {
  readonly kind = 'aws';
  readonly description: string;
  readonly statusCommand: string;
  readonly engine: AthenaQueryEngine;
  readonly timeZone: string;
  readonly schedule: OperatingSchedule | undefined;
  private readonly s3: S3Client;
  private readonly sfn: SFNClient;
  private readonly sqs: SQSClient;

  constructor(
    readonly outputs: StackOutputs,
    config: EnvironmentConfig,
    options: AwsTargetOptions,
  ) {
    const region = options.region ?? config.region;
    this.description = `${config.environment} (${region})`;
    this.statusCommand = `agent-etl status --aws --env ${config.environment}${options.region ? ` --region ${region}` : ''}`;
    this.timeZone = options.timeZone ?? config.timezone;
    this.schedule = parseOperatingSchedule(config.operatingSchedule);
    this.engine = new AthenaQueryEngine(new AthenaClient({ region }), {
      workGroup: outputs.athena_workgroup,
      database: outputs.glue_database,
    });
    this.s3 = new S3Client({ region });
    this.sfn = new SFNClient({ region });
    this.sqs = new SQSClient({ region });
  }

  static create(options: AwsTargetOptions): AwsTarget {
    const config = environmentConfig(options.environment);
    return new AwsTarget(readStackOutputs(options.outputsFile, options.environment), config, options);
  }

  /** Pages through the pipeline's executions, newest first, while `keep` says to go on. */
  private async listExecutions(
    filter: { statusFilter?: 'RUNNING' },
    keep: (item: ExecutionListItem) => boolean,
  ): Promise<ExecutionSummary[]> {
    const found: ExecutionSummary[] = [];
    let nextToken: string | undefined;
    do {
      const page = await this.sfn.send(
        new ListExecutionsCommand({
          stateMachineArn: this.outputs.state_machine_arn,
          maxResults: EXECUTIONS_PAGE,
          nextToken,
          ...filter,
        }),
      );
      for (const item of page.executions ?? []) {
        if (!keep(item)) return found;
        found.push({
          name: item.name ?? '',
          status: item.status ?? 'UNKNOWN',
          startedAt: item.startDate?.toISOString() ?? '',
        });
      }
      nextToken = page.nextToken;
    } while (nextToken);
    return found;
  }

  executions(since: Date): Promise<ExecutionSummary[]> {
    return this.listExecutions({}, (item) => (item.startDate?.getTime() ?? 0) >= since.getTime());
  }

  async runningExecutions(): Promise<Set<string>> {
    const running = await this.listExecutions({ statusFilter: 'RUNNING' }, () => true);
    return new Set(running.map((execution) => execution.name));
  }

  private assertBronze(bucket: string, what: string): void {
    if (bucket !== this.outputs.bronze_bucket) {
      throw new Error(
        `${what}: not in the bronze bucket ${this.outputs.bronze_bucket}; the pipeline reads only bronze`,
      );
    }
  }

  /**
   * Every `.csv` key under the prefix (the bronze rule's suffix filter ignores case). ListObjectsV2
   * returns at most 1,000 keys a page; the continuation token fetches the next.
   * https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectsV2.html
   */
  async listSource(source: string): Promise<{ objects: BronzeObject[]; runPrefix: string; where: string }> {
    const { bucket, key: prefix } = source.startsWith('s3://')
      ? parseS3Location(source)
      : { bucket: this.outputs.bronze_bucket, key: source };
    this.assertBronze(bucket, source);
    const objects: BronzeObject[] = [];
    let continuationToken: string | undefined;
    do {
      const page = await this.s3.send(
        new ListObjectsV2Command({
          Bucket: bucket,
          Prefix: prefix === '' ? undefined : prefix,
          ContinuationToken: continuationToken,
        }),
      );
      for (const item of page.Contents ?? []) {
        const key = item.Key ?? '';
        if (!key.toLowerCase().endsWith('.csv')) continue;
        objects.push({
          label: `s3://${bucket}/${key}`,
          sourceObject: `${bucket}/${key}`,
          name: key,
          etag: bareEtag(item.ETag),
        });
      }
      continuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (continuationToken);
    return { objects, runPrefix: `${bucket}/${prefix}`, where: `s3://${bucket}/${prefix}` };
  }

  async resolveObject(sourceObject: string): Promise<BronzeObject> {
    const { bucket, key } = parseS3Location(sourceObject);
    this.assertBronze(bucket, sourceObject);
    if (key === '') throw new Error(`${sourceObject}: expected bucket/key`);
    try {
      const head = await this.s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
      return {
        label: `s3://${bucket}/${key}`,
        sourceObject: `${bucket}/${key}`,
        name: key,
        etag: bareEtag(head.ETag),
      };
    } catch (error) {
      if (error instanceof NotFound) throw new Error(`${sourceObject}: no such object in s3://${bucket}`);
      throw error;
    }
  }

  /**
   * Queues `{bucket, key, etag}` messages for the serialized entry, 10 a batch, then starts one
   * drain execution, which runs them one at a time as the bronze rule's objects are.
   */
  async submit(objects: readonly BronzeObject[], progress: Progress): Promise<Submission> {
    progress.start(objects.length);
    try {
      for (let first = 0; first < objects.length; first += SQS_BATCH_SIZE) {
        const batch = objects.slice(first, first + SQS_BATCH_SIZE);
        const result = await this.sqs.send(
          new SendMessageBatchCommand({
            QueueUrl: this.outputs.pending_queue_url,
            Entries: batch.map((object, index) => {
              const { bucket, key } = parseS3Location(object.sourceObject);
              return {
                Id: String(first + index),
                MessageBody: JSON.stringify({ bucket, key, etag: object.etag }),
              };
            }),
          }),
        );
        // A batch can partly fail with HTTP 200: each entry's result must be read.
        const failed = result.Failed ?? [];
        if (failed.length > 0) {
          const reasons = failed.map((entry) =>
            `${objects[Number(entry.Id)]?.label}: ${entry.Code} ${entry.Message ?? ''}`.trim(),
          );
          throw new Error(
            `SQS refused ${failed.length} of ${batch.length} messages (${first} queued before this batch): ${reasons.join('; ')}`,
          );
        }
        for (const object of batch) progress.advance(object.label, 'queued');
      }
    } finally {
      progress.stop();
    }
    const started = await this.sfn.send(
      new StartExecutionCommand({ stateMachineArn: this.outputs.drain_state_machine_arn, input: '{}' }),
    );
    return { kind: 'queued', queued: objects.length, drainExecutionArn: started.executionArn ?? '' };
  }
}
