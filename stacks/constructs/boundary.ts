import { IamRole } from '@cdktf/provider-aws/lib/iam-role';
import type { IAspect } from 'cdktf';
import type { IConstruct } from 'constructs';
import { PROJECT } from '../config';
import type { PolicyStatement } from './iam';

/**
 * The permissions boundary every role of a pipeline stack carries. The deploy role may create and
 * change roles only with this boundary attached (`iam:PermissionsBoundary` condition) and can neither
 * remove it nor edit the policy, so no role it makes can do more than this list, whatever inline policy
 * it writes. The list is every action the pipeline's roles use, and no more; a test fails when a role
 * gains an action outside it (__tests__/stacks/boundary.test.ts). IAM user guide, "Permissions
 * boundaries for IAM entities".
 */
export const PIPELINE_BOUNDARY_ACTIONS: readonly string[] = [
  'athena:GetQueryExecution',
  'athena:GetQueryResults',
  'athena:GetWorkGroup',
  'athena:StartQueryExecution',
  'athena:StopQueryExecution',
  'dynamodb:DeleteItem',
  'dynamodb:GetItem',
  'dynamodb:PutItem',
  'events:DescribeRule',
  'events:PutEvents',
  'events:PutRule',
  'events:PutTargets',
  'glue:BatchCreatePartition',
  'glue:BatchGetPartition',
  'glue:BatchStopJobRun',
  'glue:BatchUpdatePartition',
  'glue:CreatePartition',
  'glue:CreateTable',
  'glue:GetDatabase',
  'glue:GetJobRun',
  'glue:GetJobRuns',
  'glue:GetPartition',
  'glue:GetPartitions',
  'glue:GetTable',
  'glue:GetTables',
  'glue:StartJobRun',
  'glue:UpdatePartition',
  'glue:UpdateTable',
  'kms:Decrypt',
  'kms:GenerateDataKey',
  'lambda:InvokeFunction',
  'logs:CreateLogDelivery',
  'logs:CreateLogGroup',
  'logs:CreateLogStream',
  'logs:DeleteLogDelivery',
  'logs:DescribeLogGroups',
  'logs:DescribeResourcePolicies',
  'logs:GetLogDelivery',
  'logs:ListLogDeliveries',
  'logs:PutLogEvents',
  'logs:PutResourcePolicy',
  'logs:UpdateLogDelivery',
  's3:AbortMultipartUpload',
  's3:DeleteObject',
  's3:GetBucketLocation',
  's3:GetObject',
  's3:ListBucket',
  's3:ListMultipartUploadParts',
  's3:PutObject',
  'sns:Publish',
  'sqs:DeleteMessage',
  'sqs:GetQueueAttributes',
  'sqs:ReceiveMessage',
  'sqs:SendMessage',
  'ssm:GetParameters',
  'states:DescribeExecution',
  'states:StartExecution',
  'states:StopExecution',
  'xray:GetSamplingRules',
  'xray:GetSamplingTargets',
  'xray:PutTelemetryRecords',
  'xray:PutTraceSegments',
];

/** Name of an environment's boundary policy (created by the bootstrap stack, outside the deploy role's reach). */
export const boundaryPolicyName = (environment: string) => `${PROJECT}-pipeline-boundary-${environment}`;

/** `arn:<partition>:iam::<account>:policy/<name>` of an environment's boundary. */
export const boundaryPolicyArn = (partition: string, accountId: string, environment: string) =>
  `arn:${partition}:iam::${accountId}:policy/${boundaryPolicyName(environment)}`;

/** The boundary caps actions only; each role's own policy scopes resources. */
export const boundaryStatements = (): PolicyStatement[] => [
  { Sid: 'PipelineActions', Action: [...PIPELINE_BOUNDARY_ACTIONS], Resource: '*' },
];

/** Gives every role of a stack the boundary, at synth: no construct can forget it. */
export class PermissionsBoundaryAspect implements IAspect {
  constructor(private readonly boundaryArn: string) {}

  visit(node: IConstruct): void {
    if (node instanceof IamRole) node.permissionsBoundary = this.boundaryArn;
  }
}
