import { S3Backend, type TerraformStack } from 'cdktf';
import type { StateConfig } from './config';

/** S3 backend: encrypted, native S3 locking (`use_lockfile`, no DynamoDB table), one key per stack. */
export function remoteState(stack: TerraformStack, stackName: string, state: StateConfig): S3Backend {
  const backend = new S3Backend(stack, {
    bucket: state.bucket,
    key: `${state.keyPrefix}/${stackName}.tfstate`,
    region: state.region,
    encrypt: true,
  });
  // cdktf 0.21 does not type `use_lockfile` yet (Terraform >= 1.10 has it).
  backend.addOverride('use_lockfile', true);
  return backend;
}
