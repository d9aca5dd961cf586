import { existsSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { CloudwatchLogGroup } from '@cdktf/provider-aws/lib/cloudwatch-log-group';
import { LambdaFunction } from '@cdktf/provider-aws/lib/lambda-function';
import { SqsQueue } from '@cdktf/provider-aws/lib/sqs-queue';
import { AssetType, Fn, TerraformAsset } from 'cdktf';
import { Construct } from 'constructs';
import { buildSync } from 'esbuild';
import { LAMBDA_BUNDLE_OPTIONS } from '../../workflow/lambda-bundle';
import { type PolicyStatement, ServiceRole } from './iam';

/**
 * The newest Node.js runtime the pinned AWS provider (hashicorp/aws 5.100.0) accepts: its
 * `aws_lambda_function` validation knows `nodejs22.x`, not `nodejs24.x` (docs/deploy.md, "Provider version").
 */
export const NODE_RUNTIME = 'nodejs22.x';

const bundles = new Map<string, string>();

/** Where a handler's bundle goes: `<outRoot>/<handler folder>/index.js`. */
function bundleDir(entry: string, outRoot: string): string {
  return join(outRoot, basename(dirname(entry)));
}

/**
 * Bundles several handlers in one esbuild call, which builds them in parallel (about half the time of
 * one call each); `bundle` then finds them done. Synth calls it once with every handler of a stack.
 */
export function prebundle(entries: readonly string[], outRoot: string): void {
  const pending = entries.filter((entry) => !bundles.has(entry));
  if (pending.length === 0) return;
  for (const entry of pending) {
    if (!existsSync(entry)) throw new Error(`Lambda entry point ${entry} does not exist`);
  }
  buildSync({
    ...LAMBDA_BUNDLE_OPTIONS,
    entryPoints: pending.map((entry) => ({ in: entry, out: join(basename(dirname(entry)), 'index') })),
    outdir: outRoot,
  });
  for (const entry of pending) bundles.set(entry, bundleDir(entry, outRoot));
}

/** Bundles a handler with esbuild once per process; returns the folder holding `index.js`. */
function bundle(entry: string, outRoot: string): string {
  prebundle([entry], outRoot);
  return bundles.get(entry) as string;
}

export interface NodeFunctionProps {
  readonly functionName: string;
  readonly description: string;
  /** Absolute path of the handler module (exports `handler`). */
  readonly entry: string;
  /** Where bundles are written before Terraform zips them. */
  readonly bundleRoot: string;
  readonly environment: Record<string, string>;
  /** When set, the function gets its dead-letter queue's URL in this variable (for parking work itself). */
  readonly deadLetterQueueUrlVariable?: string;
  /** What the function may do beyond writing its logs, traces and dead letters. */
  readonly statements: readonly PolicyStatement[];
  readonly logRetentionDays: number;
  readonly timeoutSeconds?: number;
}

/**
 * A Node.js Lambda bundled by esbuild at synth time, with its own role, log group (JSON logs,
 * retention), X-Ray tracing and an SQS dead-letter queue for failed asynchronous invocations.
 */
export class NodeFunction extends Construct {
  readonly function: LambdaFunction;
  readonly logGroup: CloudwatchLogGroup;
  readonly deadLetterQueue: SqsQueue;

  constructor(scope: Construct, id: string, props: NodeFunctionProps) {
    super(scope, id);
    const code = new TerraformAsset(this, 'code', {
      path: bundle(props.entry, props.bundleRoot),
      type: AssetType.ARCHIVE,
    });
    this.deadLetterQueue = new SqsQueue(this, 'deadLetterQueue', {
      name: `${props.functionName}-dlq`,
      messageRetentionSeconds: 14 * 24 * 3600,
      sqsManagedSseEnabled: true,
    });
    this.logGroup = new CloudwatchLogGroup(this, 'logGroup', {
      name: `/aws/lambda/${props.functionName}`,
      retentionInDays: props.logRetentionDays,
    });
    const role = new ServiceRole(this, 'role', {
      name: props.functionName,
      description: props.description,
      service: 'lambda.amazonaws.com',
      statements: [
        ...props.statements,
        {
          Sid: 'WriteLogs',
          Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
          Resource: [`${this.logGroup.arn}:log-stream:*`],
        },
        { Sid: 'DeadLetters', Action: ['sqs:SendMessage'], Resource: [this.deadLetterQueue.arn] },
        {
          Sid: 'Tracing',
          Action: ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'],
          // X-Ray has no resource-level permissions: AWS requires `*` here.
          Resource: '*',
        },
      ],
    });
    this.function = new LambdaFunction(this, 'function', {
      functionName: props.functionName,
      description: props.description,
      role: role.arn,
      runtime: NODE_RUNTIME,
      architectures: ['arm64'],
      handler: 'index.handler',
      filename: code.path,
      sourceCodeHash: Fn.filebase64sha256(code.path),
      memorySize: 256,
      timeout: props.timeoutSeconds ?? 60,
      environment: {
        variables: {
          ...props.environment,
          ...(props.deadLetterQueueUrlVariable
            ? { [props.deadLetterQueueUrlVariable]: this.deadLetterQueue.url }
            : {}),
        },
      },
      deadLetterConfig: { targetArn: this.deadLetterQueue.arn },
      tracingConfig: { mode: 'Active' },
      loggingConfig: { logFormat: 'JSON', logGroup: this.logGroup.name },
      dependsOn: [this.logGroup, role.policy],
    });
  }

  get arn(): string {
    return this.function.arn;
  }

  get name(): string {
    return this.function.functionName;
  }
}
