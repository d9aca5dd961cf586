import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Services whose endpoint the rehearsal points at the emulator: every service the stacks' resources and
 * data sources call (provider "Custom Service Endpoints"; one name per service, aliases conflict).
 */
export const EMULATED_SERVICES = [
  'athena',
  'cloudwatch',
  'logs',
  'dynamodb',
  'events',
  'glue',
  'iam',
  'kms',
  'lambda',
  's3',
  'scheduler',
  'sfn',
  'sns',
  'sqs',
  'ssm',
  'sts',
] as const;

/** The override file's name: Terraform merges `*_override.tf.json` over the synthesized configuration. */
export const OVERRIDE_FILE = 'rehearsal_override.tf.json';

/**
 * Points a synthesized stack's provider at the emulator, without touching the stack: Terraform merges
 * an override file argument by argument into the `provider "aws"` block it names
 * (https://developer.hashicorp.com/terraform/language/files/override). Region, default tags and
 * `allowed_account_ids` stay as synthesized. `insecure`: moto serves HTTPS with a certificate of its
 * own making (emulator/README.md, "TLS"). Test keys only; the emulator accepts any.
 */
export function writeProviderOverride(stackDir: string, endpoint: string): void {
  const override = {
    provider: {
      aws: [
        {
          access_key: 'testing',
          secret_key: 'testing',
          insecure: true,
          s3_use_path_style: true,
          skip_credentials_validation: true,
          skip_metadata_api_check: 'true',
          endpoints: [Object.fromEntries(EMULATED_SERVICES.map((service) => [service, endpoint]))],
        },
      ],
    },
  };
  writeFileSync(join(stackDir, OVERRIDE_FILE), `${JSON.stringify(override, null, 2)}\n`);
}

/**
 * `terraform init -backend-config=<file>` arguments merged into the synthesized S3 backend (partial
 * configuration, https://developer.hashicorp.com/terraform/language/backend#partial-configuration):
 * bucket, key, `use_lockfile` and the state key stay as synthesized; only where S3 is changes.
 */
export function writeS3BackendConfig(dir: string, endpoint: string): string {
  const file = join(dir, 'rehearsal.s3.tfbackend');
  writeFileSync(
    file,
    [
      `endpoints = { s3 = "${endpoint}", sts = "${endpoint}", iam = "${endpoint}" }`,
      'use_path_style = true',
      'insecure = true',
      'skip_credentials_validation = true',
      'access_key = "testing"',
      'secret_key = "testing"',
      '',
    ].join('\n'),
  );
  return file;
}
