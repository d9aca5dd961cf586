import { IamRole } from '@cdktf/provider-aws/lib/iam-role';
import { IamRolePolicy } from '@cdktf/provider-aws/lib/iam-role-policy';
import { Construct } from 'constructs';

export interface PolicyStatement {
  readonly Sid?: string;
  readonly Effect?: 'Allow' | 'Deny';
  readonly Principal?: Record<string, string | string[]> | '*';
  readonly Action: readonly string[];
  /** Absent only in trust policies. */
  readonly Resource?: string | readonly string[];
  readonly Condition?: Record<string, Record<string, string | boolean | readonly string[]>>;
}

/** An IAM policy document as JSON; Terraform references inside it resolve at synth. */
export function policyDocument(statements: readonly PolicyStatement[]): string {
  return JSON.stringify({
    Version: '2012-10-17',
    Statement: statements.map((statement) => ({ Effect: 'Allow', ...statement })),
  });
}

/** What running a query in one workgroup and reading its result takes; granted on that workgroup only. */
export const ATHENA_QUERY_ACTIONS = [
  'athena:StartQueryExecution',
  'athena:GetQueryExecution',
  'athena:GetQueryResults',
  'athena:StopQueryExecution',
  'athena:GetWorkGroup',
] as const;

/**
 * What a Step Functions state machine needs for its CloudWatch log delivery and X-Ray traces. Neither
 * the vended log delivery APIs nor X-Ray have resource-level permissions: AWS requires `*` here.
 */
export const STATE_MACHINE_LOGS_AND_TRACES: readonly PolicyStatement[] = [
  {
    Sid: 'DeliverLogs',
    Action: [
      'logs:CreateLogDelivery',
      'logs:GetLogDelivery',
      'logs:UpdateLogDelivery',
      'logs:DeleteLogDelivery',
      'logs:ListLogDeliveries',
      'logs:PutResourcePolicy',
      'logs:DescribeResourcePolicies',
      'logs:DescribeLogGroups',
    ],
    Resource: '*',
  },
  {
    Sid: 'Tracing',
    Action: [
      'xray:PutTraceSegments',
      'xray:PutTelemetryRecords',
      'xray:GetSamplingRules',
      'xray:GetSamplingTargets',
    ],
    Resource: '*',
  },
];

/**
 * The policy of a queue that one EventBridge rule sends to (a target, or a target's dead letters):
 * that rule only, and nothing without TLS.
 */
export function ruleSendsToQueue(
  sid: string,
  queueArn: string,
  ruleArn: string,
  tlsActions: readonly string[] = ['sqs:SendMessage', 'sqs:ReceiveMessage'],
): string {
  return policyDocument([
    {
      Sid: sid,
      Principal: { Service: 'events.amazonaws.com' },
      Action: ['sqs:SendMessage'],
      Resource: queueArn,
      Condition: { ArnEquals: { 'aws:SourceArn': ruleArn } },
    },
    denyInsecureTransport(tlsActions, [queueArn]),
  ]);
}

/** Denies every request to `resources` that does not arrive over TLS (bucket, queue and topic policies). */
export function denyInsecureTransport(
  actions: readonly string[],
  resources: readonly string[],
): PolicyStatement {
  return {
    Sid: 'DenyInsecureTransport',
    Effect: 'Deny',
    Principal: '*',
    Action: actions,
    Resource: resources,
    Condition: { Bool: { 'aws:SecureTransport': false } },
  };
}

export interface ServiceRoleProps {
  readonly name: string;
  readonly description: string;
  /** Service principal that assumes the role, e.g. `lambda.amazonaws.com`. */
  readonly service: string;
  /** When set, the trust policy only lets the service act for this account (confused-deputy guard). */
  readonly sourceAccount?: string;
  readonly statements: readonly PolicyStatement[];
}

/** One component's role: trusted by one service, with one inline least-privilege policy. */
export class ServiceRole extends Construct {
  readonly role: IamRole;
  readonly policy: IamRolePolicy;

  constructor(scope: Construct, id: string, props: ServiceRoleProps) {
    super(scope, id);
    this.role = new IamRole(this, 'role', {
      name: props.name,
      description: props.description,
      assumeRolePolicy: policyDocument([
        {
          Principal: { Service: props.service },
          Action: ['sts:AssumeRole'],
          ...(props.sourceAccount
            ? { Condition: { StringEquals: { 'aws:SourceAccount': props.sourceAccount } } }
            : {}),
        },
      ]),
    });
    this.policy = new IamRolePolicy(this, 'policy', {
      name: 'least-privilege',
      role: this.role.id,
      policy: policyDocument(props.statements),
    });
  }

  get arn(): string {
    return this.role.arn;
  }
}
