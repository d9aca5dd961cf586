import { KmsAlias } from '@cdktf/provider-aws/lib/kms-alias';
import { KmsKey } from '@cdktf/provider-aws/lib/kms-key';
import { Construct } from 'constructs';
import type { AwsContext } from './aws-context';
import { type PolicyStatement, policyDocument } from './iam';

/**
 * What the account (and so IAM policies) may do with the key, spelled out instead of `kms:*`.
 * In a key policy the resource `*` means "this key"; AWS accepts nothing else there.
 */
const KEY_ADMINISTRATION = [
  'kms:CancelKeyDeletion',
  'kms:CreateAlias',
  'kms:CreateGrant',
  'kms:Decrypt',
  'kms:DeleteAlias',
  'kms:DescribeKey',
  'kms:DisableKey',
  'kms:DisableKeyRotation',
  'kms:EnableKey',
  'kms:EnableKeyRotation',
  'kms:Encrypt',
  'kms:GenerateDataKey',
  'kms:GenerateDataKeyWithoutPlaintext',
  'kms:GetKeyPolicy',
  'kms:GetKeyRotationStatus',
  'kms:ListGrants',
  'kms:ListKeyPolicies',
  'kms:ListKeyRotations',
  'kms:ListResourceTags',
  'kms:PutKeyPolicy',
  'kms:ReEncryptFrom',
  'kms:ReEncryptTo',
  'kms:RetireGrant',
  'kms:RevokeGrant',
  'kms:RotateKeyOnDemand',
  'kms:ScheduleKeyDeletion',
  'kms:TagResource',
  'kms:UntagResource',
  'kms:UpdateAlias',
  'kms:UpdateKeyDescription',
];

export interface EncryptionKeyProps {
  readonly alias: string;
  readonly description: string;
  readonly context: AwsContext;
  /** Service principals that encrypt with the key on their own behalf (e.g. CloudWatch alarms publishing to SNS). */
  readonly servicePrincipals?: readonly string[];
  /** Further key-policy statements, for services whose use of a key needs its own conditions. */
  readonly statements?: readonly PolicyStatement[];
  readonly protect: boolean;
}

/** A customer-managed key with rotation on; IAM policies of this account grant its use per role. */
export class EncryptionKey extends Construct {
  readonly key: KmsKey;

  constructor(scope: Construct, id: string, props: EncryptionKeyProps) {
    super(scope, id);
    const statements: PolicyStatement[] = [
      {
        Sid: 'AccountAdministersKeyAndDelegatesToIam',
        Principal: { AWS: `arn:${props.context.partition}:iam::${props.context.accountId}:root` },
        Action: KEY_ADMINISTRATION,
        Resource: '*',
      },
    ];
    for (const service of props.servicePrincipals ?? []) {
      statements.push({
        Sid: `ServiceUse${service.split('.')[0]}`,
        Principal: { Service: service },
        Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
        Resource: '*',
        Condition: { StringEquals: { 'aws:SourceAccount': props.context.accountId } },
      });
    }
    statements.push(...(props.statements ?? []));
    this.key = new KmsKey(this, 'key', {
      description: props.description,
      enableKeyRotation: true,
      deletionWindowInDays: 30,
      policy: policyDocument(statements),
      lifecycle: { preventDestroy: props.protect },
    });
    new KmsAlias(this, 'alias', { name: `alias/${props.alias}`, targetKeyId: this.key.keyId });
  }

  get arn(): string {
    return this.key.arn;
  }
}
