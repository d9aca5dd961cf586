import { isAbsolute, join } from 'node:path';
import { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { LocalBackend, TerraformOutput, TerraformStack } from 'cdktf';
import type { Construct } from 'constructs';
import { type CiConfig, type EnvironmentConfig, PROJECT, STATE_KEY_ALIAS, type StateConfig } from './config';
import { AwsContext } from './constructs/aws-context';
import { CiIdentity } from './constructs/ci-identity';
import { EncryptionKey } from './constructs/encryption-key';
import { SecureBucket } from './constructs/secure-bucket';

/** The bootstrap stack's own state file, in the repository root (git ignores `terraform.*.tfstate*`). */
export const BOOTSTRAP_STATE_FILE = 'terraform.bootstrap.tfstate';

export interface BootstrapStackProps {
  readonly state: StateConfig;
  readonly ci: CiConfig;
  /** The pipeline environments CI plans and deploys; each gets a deploy role. */
  readonly environments: readonly EnvironmentConfig[];
  /** Absolute path of the repository root, where the local state file is kept. */
  readonly projectRoot: string;
}

/**
 * Applied once per account by an administrator: the Terraform state bucket and its key, and the
 * identities CI assumes (GitHub OIDC provider, plan role, one deploy role per environment). Its own
 * state is local: it cannot live in the bucket it creates. cdktf runs Terraform inside
 * `cdktf.out/stacks/bootstrap/`, so a relative path would put the state in the build output, which
 * a clean build deletes; the path is absolute instead.
 */
export class BootstrapStack extends TerraformStack {
  constructor(scope: Construct, id: string, props: BootstrapStackProps) {
    super(scope, id);
    if (!isAbsolute(props.projectRoot)) {
      throw new Error(
        `projectRoot "${props.projectRoot}" must be absolute: the bootstrap state is kept there`,
      );
    }
    new AwsProvider(this, 'aws', {
      region: props.state.region,
      allowedAccountIds: [props.ci.accountId],
      defaultTags: [{ tags: { project: PROJECT, environment: 'shared', 'managed-by': 'cdktf' } }],
    });
    new LocalBackend(this, { path: join(props.projectRoot, BOOTSTRAP_STATE_FILE) });
    const context = new AwsContext(this, 'context');
    const key = new EncryptionKey(this, 'stateKey', {
      alias: STATE_KEY_ALIAS.replace(/^alias\//, ''),
      description: `${PROJECT}: Terraform state`,
      context,
      protect: true,
    });
    const bucket = new SecureBucket(this, 'stateBucket', {
      bucketName: props.state.bucket,
      kmsKeyArn: key.arn,
      versioned: true,
      lifecycleRules: [
        {
          id: 'expire-old-state-versions',
          status: 'Enabled',
          filter: [{}],
          noncurrentVersionExpiration: [{ noncurrentDays: 90, newerNoncurrentVersions: 10 }],
        },
      ],
    });
    bucket.bucket.addOverride('lifecycle.prevent_destroy', true);
    const ci = new CiIdentity(this, 'ci', {
      ci: props.ci,
      environments: props.environments,
      state: props.state,
      stateBucketArn: bucket.arn,
      stateKeyArn: key.arn,
      context,
    });
    const outputs: Record<string, string> = {
      state_bucket: bucket.name,
      state_key_arn: key.arn,
      plan_role_arn: ci.planRole.arn,
      ...Object.fromEntries(
        Object.entries(ci.deployRoles).map(([environment, role]) => [
          `deploy_role_arn_${environment}`,
          role.arn,
        ]),
      ),
    };
    for (const [name, value] of Object.entries(outputs)) {
      new TerraformOutput(this, name, { value });
    }
  }
}
