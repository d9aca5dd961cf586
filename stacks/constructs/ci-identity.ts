import { DataAwsIamOpenidConnectProvider } from '@cdktf/provider-aws/lib/data-aws-iam-openid-connect-provider';
import { IamOpenidConnectProvider } from '@cdktf/provider-aws/lib/iam-openid-connect-provider';
import { IamPolicy } from '@cdktf/provider-aws/lib/iam-policy';
import { IamRole } from '@cdktf/provider-aws/lib/iam-role';
import { IamRolePolicy } from '@cdktf/provider-aws/lib/iam-role-policy';
import { Construct } from 'constructs';
import { type CiConfig, type EnvironmentConfig, PROJECT, type StateConfig } from '../config';
import type { AwsContext } from './aws-context';
import { boundaryPolicyName, boundaryStatements } from './boundary';
import { seededTables, tablePrefix } from './catalog';
import { type PolicyStatement, policyDocument } from './iam';
import { icebergSeedKey } from './iceberg-metadata';

/** GitHub's OIDC issuer and the audience `aws-actions/configure-aws-credentials` asks for. */
export const GITHUB_OIDC_HOST = 'token.actions.githubusercontent.com';
export const GITHUB_OIDC_AUDIENCE = 'sts.amazonaws.com';
/** The workflow that deploys; an environment with `deployRef` trusts only its runs on that ref. */
export const DEPLOY_WORKFLOW = '.github/workflows/deploy.yml';

/**
 * The `sub` claim GitHub puts in a job's token: `repo:<owner>/<name>:pull_request` for a job run by a
 * pull_request event, `repo:<owner>/<name>:environment:<name>` for a job that names an environment
 * (https://docs.github.com/en/actions/reference/security/oidc#example-subject-claims).
 */
export const pullRequestSubject = (repository: string) => `repo:${repository}:pull_request`;
export const environmentSubject = (repository: string, environment: string) =>
  `repo:${repository}:environment:${environment}`;

/** Names an environment's resources carry: `<namePrefix>-...`, Glue database `<namePrefix with _>`. */
interface Scope {
  readonly prefix: string;
  readonly database: string;
}

/**
 * One service's part of a plan and an apply: what Terraform reads to refresh the resources of the
 * pipeline stacks (`read`), what it calls to change them (`write`), on which resources.
 */
interface ServiceAccess {
  readonly sid: string;
  readonly read: readonly string[];
  readonly write: readonly string[];
  readonly resources: (scope: Scope, context: AwsContext) => string[];
}

const SERVICES: readonly ServiceAccess[] = [
  {
    sid: 'Buckets',
    read: [
      's3:ListBucket',
      's3:GetBucketLocation',
      's3:GetBucketPolicy',
      's3:GetBucketAcl',
      's3:GetBucketCORS',
      's3:GetBucketWebsite',
      's3:GetBucketVersioning',
      's3:GetAccelerateConfiguration',
      's3:GetBucketRequestPayment',
      's3:GetBucketLogging',
      's3:GetLifecycleConfiguration',
      's3:GetReplicationConfiguration',
      's3:GetEncryptionConfiguration',
      's3:GetBucketObjectLockConfiguration',
      's3:GetBucketTagging',
      's3:GetBucketOwnershipControls',
      's3:GetBucketPublicAccessBlock',
      's3:GetBucketNotification',
    ],
    write: [
      's3:CreateBucket',
      's3:DeleteBucket',
      's3:PutBucketPolicy',
      's3:DeleteBucketPolicy',
      's3:PutBucketVersioning',
      's3:PutLifecycleConfiguration',
      's3:PutEncryptionConfiguration',
      's3:PutBucketOwnershipControls',
      's3:PutBucketPublicAccessBlock',
      's3:PutBucketNotification',
      's3:PutBucketTagging',
    ],
    resources: ({ prefix }, context) => [context.s3Arn(`${prefix}-*`)],
  },
  {
    // The Glue script and contract objects; never the lake's data.
    sid: 'DeploymentAssets',
    read: ['s3:GetObject', 's3:GetObjectTagging'],
    write: ['s3:PutObject', 's3:DeleteObject', 's3:PutObjectTagging'],
    resources: ({ prefix }, context) => [context.s3Arn(`${prefix}-assets-*`, 'glue/*')],
  },
  {
    // The first metadata file of each partitioned Iceberg table (catalog.ts, seededTables), which holds
    // the table's schema and partition spec, never rows: version 00000 in each seeded table's metadata
    // folder (Athena's commits write 00001 on). The table's UUID is left to a wildcard so that the
    // policy stays within the 10,240 characters of a role's inline policies as tables are seeded
    // (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html): each exact key took
    // about 120.
    sid: 'IcebergTableSeeds',
    read: ['s3:GetObject', 's3:GetObjectTagging'],
    write: ['s3:PutObject', 's3:DeleteObject', 's3:PutObjectTagging'],
    resources: ({ prefix }, context) =>
      seededTables(prefix).map(({ table }) =>
        context.s3Arn(`${prefix}-gold-*`, icebergSeedKey(tablePrefix(table), '*')),
      ),
  },
  {
    sid: 'Roles',
    read: [
      'iam:GetRole',
      'iam:GetRolePolicy',
      'iam:ListRolePolicies',
      'iam:ListAttachedRolePolicies',
      'iam:ListInstanceProfilesForRole',
    ],
    // CreateRole, PutRolePolicy, DeleteRolePolicy: only with the boundary (ROLES_WITHIN_BOUNDARY).
    write: [
      'iam:DeleteRole',
      'iam:UpdateRole',
      'iam:UpdateRoleDescription',
      'iam:UpdateAssumeRolePolicy',
      'iam:TagRole',
      'iam:UntagRole',
    ],
    resources: ({ prefix }, context) => [context.arn('iam', `role/${prefix}-*`, { regional: false })],
  },
  {
    sid: 'Catalog',
    // The provider reads a table's partition indexes on every refresh of an `aws_glue_catalog_table`
    // (terraform-provider-aws, internal/service/glue/catalog_table.go, resourceCatalogTableRead).
    read: [
      'glue:GetDatabase',
      'glue:GetTable',
      'glue:GetPartitionIndexes',
      'glue:GetJob',
      'glue:GetCrawler',
      'glue:GetTags',
    ],
    write: [
      'glue:CreateDatabase',
      'glue:UpdateDatabase',
      'glue:DeleteDatabase',
      'glue:CreateTable',
      'glue:UpdateTable',
      'glue:DeleteTable',
      'glue:CreateJob',
      'glue:UpdateJob',
      'glue:DeleteJob',
      'glue:UpdateCrawler',
      'glue:DeleteCrawler',
      'glue:TagResource',
      'glue:UntagResource',
    ],
    resources: ({ prefix, database }, context) => [
      context.arn('glue', 'catalog'),
      context.arn('glue', `database/${database}`),
      context.arn('glue', `table/${database}/*`),
      context.arn('glue', `userDefinedFunction/${database}/*`),
      context.arn('glue', `job/${prefix}-*`),
      context.arn('glue', `crawler/${prefix}-*`),
    ],
  },
  {
    sid: 'Workgroup',
    read: ['athena:GetWorkGroup', 'athena:GetNamedQuery', 'athena:ListTagsForResource'],
    write: [
      'athena:CreateWorkGroup',
      'athena:UpdateWorkGroup',
      'athena:DeleteWorkGroup',
      'athena:CreateNamedQuery',
      'athena:DeleteNamedQuery',
      'athena:TagResource',
      'athena:UntagResource',
    ],
    resources: ({ prefix }, context) => [context.arn('athena', `workgroup/${prefix}`)],
  },
  {
    sid: 'StateMachine',
    read: ['states:DescribeStateMachine', 'states:ListTagsForResource', 'states:ListStateMachineVersions'],
    write: [
      'states:CreateStateMachine',
      'states:UpdateStateMachine',
      'states:DeleteStateMachine',
      'states:TagResource',
      'states:UntagResource',
    ],
    resources: ({ prefix }, context) => [context.arn('states', `stateMachine:${prefix}-*`)],
  },
  {
    // Rules on the default bus are `rule/<name>`, on the pipeline bus `rule/<bus>/<name>`.
    sid: 'Events',
    read: [
      'events:DescribeRule',
      'events:ListTargetsByRule',
      'events:DescribeEventBus',
      'events:ListTagsForResource',
    ],
    write: [
      'events:PutRule',
      'events:DeleteRule',
      'events:PutTargets',
      'events:RemoveTargets',
      'events:CreateEventBus',
      'events:DeleteEventBus',
      'events:TagResource',
      'events:UntagResource',
    ],
    resources: ({ prefix }, context) => [
      context.arn('events', `rule/${prefix}-*`),
      context.arn('events', `event-bus/${prefix}-*`),
    ],
  },
  {
    sid: 'Schedules',
    read: ['scheduler:GetSchedule', 'scheduler:ListTagsForResource'],
    write: ['scheduler:CreateSchedule', 'scheduler:UpdateSchedule', 'scheduler:DeleteSchedule'],
    resources: ({ prefix }, context) => [context.arn('scheduler', `schedule/default/${prefix}-*`)],
  },
  {
    sid: 'Functions',
    read: [
      'lambda:GetFunction',
      'lambda:GetFunctionCodeSigningConfig',
      'lambda:GetPolicy',
      'lambda:ListVersionsByFunction',
      'lambda:ListTags',
    ],
    write: [
      'lambda:CreateFunction',
      'lambda:DeleteFunction',
      'lambda:UpdateFunctionCode',
      'lambda:UpdateFunctionConfiguration',
      'lambda:AddPermission',
      'lambda:RemovePermission',
      'lambda:TagResource',
      'lambda:UntagResource',
    ],
    resources: ({ prefix }, context) => [context.arn('lambda', `function:${prefix}-*`)],
  },
  {
    sid: 'LogGroups',
    read: ['logs:ListTagsForResource', 'logs:ListTagsLogGroup'],
    write: [
      'logs:CreateLogGroup',
      'logs:DeleteLogGroup',
      'logs:PutRetentionPolicy',
      'logs:DeleteRetentionPolicy',
      'logs:AssociateKmsKey',
      'logs:DisassociateKmsKey',
      'logs:TagResource',
      'logs:UntagResource',
      'logs:TagLogGroup',
    ],
    resources: ({ prefix }, context) =>
      [`/aws/lambda/${prefix}-`, `/aws-glue/jobs/${prefix}-`, `/aws/vendedlogs/states/${prefix}-`].map(
        (group) => context.logGroupArn(`${group}*`),
      ),
  },
  {
    sid: 'Queues',
    read: ['sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:ListQueueTags'],
    write: ['sqs:CreateQueue', 'sqs:DeleteQueue', 'sqs:SetQueueAttributes', 'sqs:TagQueue', 'sqs:UntagQueue'],
    resources: ({ prefix }, context) => [context.arn('sqs', `${prefix}-*`)],
  },
  {
    // Subscription ARNs are `<topic ARN>:<id>`, so the topic pattern covers them.
    sid: 'Topics',
    // A subscription is refreshed through its topic's list (found by the deploy rehearsal's call check).
    read: [
      'sns:GetTopicAttributes',
      'sns:GetSubscriptionAttributes',
      'sns:ListSubscriptionsByTopic',
      'sns:ListTagsForResource',
    ],
    write: [
      'sns:CreateTopic',
      'sns:DeleteTopic',
      'sns:SetTopicAttributes',
      'sns:Subscribe',
      'sns:Unsubscribe',
      'sns:SetSubscriptionAttributes',
      'sns:TagResource',
      'sns:UntagResource',
    ],
    resources: ({ prefix }, context) => [context.arn('sns', `${prefix}-*`)],
  },
  {
    sid: 'Tables',
    read: [
      'dynamodb:DescribeTable',
      'dynamodb:DescribeContinuousBackups',
      'dynamodb:DescribeTimeToLive',
      'dynamodb:ListTagsOfResource',
    ],
    write: [
      'dynamodb:CreateTable',
      'dynamodb:UpdateTable',
      'dynamodb:DeleteTable',
      'dynamodb:UpdateContinuousBackups',
      'dynamodb:TagResource',
      'dynamodb:UntagResource',
    ],
    resources: ({ prefix }, context) => [context.arn('dynamodb', `table/${prefix}-*`)],
  },
  {
    sid: 'Alarms',
    read: ['cloudwatch:DescribeAlarms', 'cloudwatch:ListTagsForResource'],
    write: [
      'cloudwatch:PutMetricAlarm',
      'cloudwatch:DeleteAlarms',
      'cloudwatch:TagResource',
      'cloudwatch:UntagResource',
    ],
    resources: ({ prefix }, context) => [context.arn('cloudwatch', `alarm:${prefix}-*`)],
  },
  {
    sid: 'KeyAliases',
    read: [],
    write: ['kms:CreateAlias', 'kms:DeleteAlias', 'kms:UpdateAlias'],
    resources: ({ prefix }, context) => [context.arn('kms', `alias/${prefix}*`)],
  },
];

/** Key actions by tag: key ARNs hold random ids, so keys are told apart by their `environment` tag. */
const KEY_READ = ['kms:DescribeKey', 'kms:GetKeyPolicy', 'kms:GetKeyRotationStatus', 'kms:ListResourceTags'];
const KEY_WRITE = [
  'kms:PutKeyPolicy',
  'kms:EnableKeyRotation',
  'kms:UpdateKeyDescription',
  'kms:ScheduleKeyDeletion',
  'kms:TagResource',
  'kms:UntagResource',
  'kms:CreateAlias',
  'kms:DeleteAlias',
  'kms:UpdateAlias',
  // Uploading the assets (SSE-KMS bucket) and Iceberg table metadata written when Glue creates a table.
  'kms:GenerateDataKey',
  'kms:Decrypt',
];

/**
 * Calls that make or change what a role may do: allowed only on roles that carry (or, for
 * PutRolePermissionsBoundary, receive) the environment's boundary, via the `iam:PermissionsBoundary`
 * condition key (IAM user guide, "Permissions boundaries for IAM entities", delegating role creation).
 * DeleteRolePermissionsBoundary and any change to the boundary policy itself are not granted.
 */
const ROLES_WITHIN_BOUNDARY = [
  'iam:CreateRole',
  'iam:PutRolePolicy',
  'iam:DeleteRolePolicy',
  'iam:PutRolePermissionsBoundary',
];

/** Roles the stacks create are handed to these services only. */
const PASSED_TO = [
  'glue.amazonaws.com',
  'lambda.amazonaws.com',
  'states.amazonaws.com',
  'events.amazonaws.com',
  'scheduler.amazonaws.com',
];

export interface CiIdentityProps {
  readonly ci: CiConfig;
  readonly environments: readonly EnvironmentConfig[];
  readonly state: StateConfig;
  readonly stateBucketArn: string;
  readonly stateKeyArn: string;
  readonly context: AwsContext;
}

/**
 * The identities GitHub Actions assumes through OIDC, with no stored keys: the account's GitHub OIDC
 * provider, a plan role for pull requests of the repository (reads what a plan refreshes, reads state,
 * writes only lock files) and one deploy role per environment, trusted only by that GitHub
 * environment and scoped to its name prefix.
 */
export class CiIdentity extends Construct {
  readonly providerArn: string;
  readonly planRole: IamRole;
  readonly deployRoles: Record<string, IamRole>;
  /** Each environment's permissions boundary, which every role of its pipeline stack carries. */
  readonly boundaries: Record<string, IamPolicy> = {};

  constructor(scope: Construct, id: string, props: CiIdentityProps) {
    super(scope, id);
    const { ci, context, state } = props;
    const url = `https://${GITHUB_OIDC_HOST}`;
    // AWS trusts GitHub's issuer through its own CA library; no thumbprint has to be pinned
    // (https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_providers_create_oidc_verify-thumbprint.html).
    this.providerArn =
      ci.oidcProvider === 'create'
        ? new IamOpenidConnectProvider(this, 'githubProvider', { url, clientIdList: [GITHUB_OIDC_AUDIENCE] })
            .arn
        : new DataAwsIamOpenidConnectProvider(this, 'githubProvider', { url }).arn;

    // With `ref`, the token must also come from a run of the deploy workflow on that ref: GitHub's `ref`
    // and `job_workflow_ref` claims, which IAM evaluates for the GitHub provider (IAM user guide,
    // "Available keys for AWS web identity federation"; GitHub docs, "OpenID Connect", token claims).
    const trust = (subject: string, ref?: string): string =>
      policyDocument([
        {
          Principal: { Federated: this.providerArn },
          Action: ['sts:AssumeRoleWithWebIdentity'],
          Condition: {
            StringEquals: {
              [`${GITHUB_OIDC_HOST}:aud`]: GITHUB_OIDC_AUDIENCE,
              [`${GITHUB_OIDC_HOST}:sub`]: subject,
              ...(ref
                ? {
                    [`${GITHUB_OIDC_HOST}:ref`]: ref,
                    [`${GITHUB_OIDC_HOST}:job_workflow_ref`]: `${ci.repository}/${DEPLOY_WORKFLOW}@${ref}`,
                  }
                : {}),
            },
          },
        },
      ]);
    const stateObject = (key: string) => context.s3Arn(state.bucket, `${state.keyPrefix}/${key}`);
    const listState: PolicyStatement = {
      Sid: 'ListState',
      Action: ['s3:ListBucket'],
      Resource: [props.stateBucketArn],
      Condition: { StringLike: { 's3:prefix': [`${state.keyPrefix}/*`] } },
    };
    const useStateKey: PolicyStatement = {
      Sid: 'UseStateKey',
      Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
      Resource: [props.stateKeyArn],
    };
    const scopes = (environments: readonly EnvironmentConfig[]): Scope[] =>
      environments.map(({ namePrefix }) => ({ prefix: namePrefix, database: namePrefix.replace(/-/g, '_') }));
    const servicesStatements = (environments: readonly EnvironmentConfig[], write: boolean) =>
      SERVICES.filter((service) => service.read.length > 0 || write).map(
        (service): PolicyStatement => ({
          Sid: `${write ? 'Manage' : 'Read'}${service.sid}`,
          Action: write ? [...service.read, ...service.write] : service.read,
          Resource: scopes(environments).flatMap((s) => service.resources(s, context)),
        }),
      );
    const keysTagged = (environments: readonly EnvironmentConfig[]) => ({
      StringEquals: {
        'aws:ResourceTag/project': PROJECT,
        'aws:ResourceTag/environment': environments.map((e) => e.environment),
      },
    });
    const anyKey = context.arn('kms', 'key/*');
    // Reading an aws_dynamodb_table, the provider describes the AWS managed key `alias/aws/dynamodb` to
    // tell it from a customer key (seen in the rehearsal's recorded calls). Its key policy leaves
    // metadata reads to the account's IAM policies; the alias named in the request bounds the grant
    // (KMS developer guide, "kms:RequestAlias").
    const describeDynamoDbKey: PolicyStatement = {
      Sid: 'DescribeDynamoDbManagedKey',
      Action: ['kms:DescribeKey'],
      Resource: [anyKey],
      Condition: { StringEquals: { 'kms:RequestAlias': 'alias/aws/dynamodb' } },
    };

    // Terraform takes the lock by writing `<key>.tflock` and releases it by deleting it ("S3 backend",
    // Permissions Required: https://developer.hashicorp.com/terraform/language/backend/s3). A plan
    // writes no state, so pull requests plan with `-lock=false` and their role writes nothing in the
    // state bucket: it can neither take nor delete any environment's lock, prod's included.
    this.planRole = new IamRole(this, 'planRole', {
      name: `${PROJECT}-ci-plan`,
      description: `Pull requests of ${ci.repository}: cdktf diff of every pipeline stack`,
      assumeRolePolicy: trust(pullRequestSubject(ci.repository)),
      maxSessionDuration: 3600,
    });
    new IamRolePolicy(this, 'planPolicy', {
      name: 'plan',
      role: this.planRole.id,
      policy: policyDocument([
        listState,
        {
          Sid: 'ReadState',
          Action: ['s3:GetObject'],
          Resource: [stateObject('*.tfstate'), stateObject('*.tflock')],
        },
        useStateKey,
        ...servicesStatements(props.environments, false),
        { Sid: 'ReadKeys', Action: KEY_READ, Resource: [anyKey], Condition: keysTagged(props.environments) },
        describeDynamoDbKey,
        // These list and describe calls take no resource (Service Authorization Reference).
        { Sid: 'ListAccountWide', Action: ['kms:ListAliases', 'logs:DescribeLogGroups'], Resource: '*' },
      ]),
    });

    this.deployRoles = {};
    for (const environment of props.environments) {
      const { namePrefix } = environment;
      const role = new IamRole(this, `${environment.environment}DeployRole`, {
        name: `${PROJECT}-ci-deploy-${environment.environment}`,
        description: `GitHub environment ${environment.environment} of ${ci.repository}: cdktf deploy`,
        assumeRolePolicy: trust(
          environmentSubject(ci.repository, environment.environment),
          environment.deployRef,
        ),
        maxSessionDuration: 3600,
      });
      // Owned here, outside every deploy role's reach (no iam:*Policy* action on it is granted).
      const boundary = new IamPolicy(this, `${environment.environment}Boundary`, {
        name: boundaryPolicyName(environment.environment),
        description: `Ceiling of every role the ${environment.environment} pipeline stack creates`,
        policy: policyDocument(boundaryStatements()),
      });
      this.boundaries[environment.environment] = boundary;
      const stateKey = `${environment.environment}.tfstate`;
      new IamRolePolicy(this, `${environment.environment}DeployPolicy`, {
        name: 'deploy',
        role: role.id,
        policy: policyDocument([
          listState,
          {
            Sid: 'ReadWriteState',
            Action: ['s3:GetObject', 's3:PutObject'],
            Resource: [stateObject(stateKey)],
          },
          {
            Sid: 'Lock',
            Action: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'],
            Resource: [stateObject(`${stateKey}.tflock`)],
          },
          useStateKey,
          ...servicesStatements([environment], true),
          {
            Sid: 'RolesWithinBoundary',
            Action: ROLES_WITHIN_BOUNDARY,
            Resource: [context.arn('iam', `role/${namePrefix}-*`, { regional: false })],
            Condition: { StringEquals: { 'iam:PermissionsBoundary': boundary.arn } },
          },
          {
            // Glue writes the first Iceberg metadata file of a table it creates, as the caller.
            Sid: 'WriteIcebergMetadata',
            Action: ['s3:GetObject', 's3:PutObject'],
            Resource: [context.s3Arn(`${namePrefix}-gold-*`, '*/metadata/*')],
          },
          {
            Sid: 'PassRoles',
            Action: ['iam:PassRole'],
            Resource: [context.arn('iam', `role/${namePrefix}-*`, { regional: false })],
            Condition: { StringEquals: { 'iam:PassedToService': PASSED_TO } },
          },
          {
            Sid: 'ManageKeys',
            Action: [...KEY_READ, ...KEY_WRITE],
            Resource: [anyKey],
            Condition: keysTagged([environment]),
          },
          describeDynamoDbKey,
          {
            Sid: 'GrantKeysToServices',
            Action: ['kms:CreateGrant'],
            Resource: [anyKey],
            Condition: { ...keysTagged([environment]), Bool: { 'kms:GrantIsForAWSResource': true } },
          },
          {
            // The provider's default tags ride on CreateKey. Tagging a key at creation needs
            // kms:TagResource in an IAM policy covering every key of the account and region (KMS
            // developer guide, "Controlling access to tags" and "Managing KMS key tags with API
            // operations"), so ManageKeys, bound to existing tags, cannot grant it. The tags sent must be
            // this environment's, and a key that already carries a project tag (the state key, the
            // other environment's) cannot be re-tagged into this environment.
            Sid: 'TagKeysOnCreate',
            Action: ['kms:TagResource'],
            Resource: [anyKey],
            Condition: {
              StringEquals: {
                'aws:RequestTag/project': PROJECT,
                'aws:RequestTag/environment': environment.environment,
              },
              Null: { 'aws:ResourceTag/project': 'true' },
            },
          },
          {
            // These take no resource (Service Authorization Reference); what they create must carry
            // this environment's tags from birth.
            Sid: 'CreateTaggedResources',
            Action: ['kms:CreateKey', 'glue:CreateCrawler'],
            Resource: '*',
            Condition: {
              StringEquals: {
                'aws:RequestTag/project': PROJECT,
                'aws:RequestTag/environment': environment.environment,
              },
            },
          },
          {
            // The provider validates a state machine's definition before creating or updating it (found
            // by the deploy rehearsal's call check); the action takes no resource (Service
            // Authorization Reference, "Actions defined by AWS Step Functions").
            Sid: 'ValidateStateMachineDefinitions',
            Action: ['states:ValidateStateMachineDefinition'],
            Resource: '*',
          },
          {
            // Step Functions log delivery: these CloudWatch Logs calls take no resource.
            Sid: 'StateMachineLogDelivery',
            Action: [
              'kms:ListAliases',
              'logs:DescribeLogGroups',
              'logs:CreateLogDelivery',
              'logs:GetLogDelivery',
              'logs:UpdateLogDelivery',
              'logs:DeleteLogDelivery',
              'logs:ListLogDeliveries',
              'logs:PutResourcePolicy',
              'logs:DescribeResourcePolicies',
            ],
            Resource: '*',
          },
        ]),
      });
      this.deployRoles[environment.environment] = role;
    }
  }
}
