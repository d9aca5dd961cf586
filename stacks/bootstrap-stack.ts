import { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { LocalBackend, TerraformOutput, TerraformStack } from 'cdktf';
import type { Construct } from 'constructs';
import { PROJECT, type StateConfig } from './config';
import { AwsContext } from './constructs/aws-context';
import { EncryptionKey } from './constructs/encryption-key';
import { SecureBucket } from './constructs/secure-bucket';

/**
 * Creates the Terraform state bucket the pipeline stacks keep their state in. Its own state is
 * local (`terraform.bootstrap.tfstate`): it cannot live in the bucket it creates.
 */
export class BootstrapStack extends TerraformStack {
  constructor(scope: Construct, id: string, props: { state: StateConfig }) {
    super(scope, id);
    new AwsProvider(this, 'aws', {
      region: props.state.region,
      defaultTags: [{ tags: { project: PROJECT, environment: 'shared', 'managed-by': 'cdktf' } }],
    });
    new LocalBackend(this, { path: `terraform.${id}.tfstate` });
    const context = new AwsContext(this, 'context');
    const key = new EncryptionKey(this, 'stateKey', {
      alias: `${PROJECT}-terraform-state`,
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
    new TerraformOutput(this, 'state_bucket', { value: bucket.name });
  }
}
