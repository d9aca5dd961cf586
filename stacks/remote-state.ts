import { S3Backend, type TerraformStack } from 'cdktf';
import { STATE_KEY_ALIAS, type StateConfig } from './config';

/**
 * S3 backend: native S3 locking (`use_lockfile`, no DynamoDB table), one key per stack, written with
 * the state key. Without `kms_key_id`, `encrypt = true` means SSE-S3 and overrides the bucket's KMS
 * default, so anyone with s3:GetObject could read state. Terraform accepts an alias as the key id
 * (https://developer.hashicorp.com/terraform/language/backend/s3, `kms_key_id`; since 1.6.1,
 * hashicorp/terraform#33993); the bootstrap stack creates the alias, so no ARN has to be copied between stacks.
 */
export function remoteState(stack: TerraformStack, stackName: string, state: StateConfig): S3Backend {
  const backend = new S3Backend(stack, {
    bucket: state.bucket,
    key: `${state.keyPrefix}/${stackName}.tfstate`,
    region: state.region,
    encrypt: true,
    kmsKeyId: STATE_KEY_ALIAS,
  });
  // cdktf 0.21 does not type `use_lockfile` yet (Terraform >= 1.10 has it).
  backend.addOverride('use_lockfile', true);
  return backend;
}
