/** Typed configuration of one pipeline environment; `main.ts` builds one stack per entry. */
export interface EnvironmentConfig {
  /** `dev` or `prod`; also the stack name and the `environment` tag. */
  readonly environment: string;
  readonly region: string;
  /** Prefix of every resource name; lowercase letters, digits and dashes, at most 16 characters. */
  readonly namePrefix: string;
  /** IANA zone of the contact center's wall clock (the daily check runs in it). */
  readonly timezone: string;
  /** EventBridge Scheduler expression for the daily coverage check, read in `timezone`. */
  readonly checkSchedule: string;
  /** Optional JSON operating schedule handed to the coverage check. */
  readonly operatingSchedule?: string;
  /** Email subscribed to the alert topic, when set (the address confirms the subscription). */
  readonly alertEmail?: string;
  /** SSM SecureString parameter names holding webhook URLs (created by hand, never in code). */
  readonly webhookParameterNames: readonly string[];
  /** Athena stops any query of the workgroup that would scan more bytes than this. */
  readonly athenaBytesScannedCutoff: number;
  readonly retention: RetentionConfig;
  /** When the Iceberg tables are compacted and vacuumed (EventBridge Scheduler expressions, read in `timezone`). */
  readonly maintenance: MaintenanceConfig;
  /** Protect the alert table and the key from an accidental destroy. */
  readonly protectData: boolean;
  /**
   * When set, the deploy role trusts only runs of the deploy workflow on this git ref (e.g.
   * `refs/heads/main`); pair it with the GitHub environment's deployment-branch rule (docs/deploy.md).
   */
  readonly deployRef?: string;
}

export interface RetentionConfig {
  readonly logDays: number;
  readonly athenaResultsDays: number;
  /** Bronze objects move to Standard-IA after this many days, to Glacier Instant Retrieval later. */
  readonly bronzeInfrequentAccessDays: number;
  readonly bronzeArchiveDays: number;
  /** Overwritten or deleted bronze versions are kept this long. */
  readonly bronzeNoncurrentDays: number;
}

export interface MaintenanceConfig {
  /** `OPTIMIZE ... REWRITE DATA USING BIN_PACK` of every Iceberg table. */
  readonly optimizeSchedule: string;
  /** `VACUUM` of every Iceberg table; keep it apart from the optimize run (both commit to the same tables). */
  readonly vacuumSchedule: string;
}

/** Who deploys: the account holding the state and every environment, and the GitHub repository CI runs in. */
export interface CiConfig {
  /** GitHub `owner/name`; its pull requests may assume the plan role, its environments the deploy roles. */
  readonly repository: string;
  /** The AWS account; Terraform refuses to plan or apply the bootstrap stack in any other. */
  readonly accountId: string;
  /**
   * `create` makes the account's GitHub OIDC provider; `existing` looks it up (an account holds one
   * provider per URL, so a second project in the account uses `existing`).
   */
  readonly oidcProvider: 'create' | 'existing';
}

/** Where Terraform state lives: one bucket (made by the bootstrap stack), one key per stack. */
export interface StateConfig {
  readonly bucket: string;
  readonly region: string;
  readonly keyPrefix: string;
}

export const PROJECT = 'agent-activity-etl';

/** Alias of the state key the bootstrap stack creates; the S3 backend writes state with it. */
export const STATE_KEY_ALIAS = `alias/${PROJECT}-terraform-state`;

/** Placeholder values: replace with your repository and account before applying the bootstrap stack. */
export const CI: CiConfig = {
  repository: 'example-org/agent-activity-etl',
  accountId: '111122223333',
  oidcProvider: 'create',
};

const REPOSITORY = /^[A-Za-z0-9-]+\/[A-Za-z0-9._-]+$/;
const ACCOUNT_ID = /^\d{12}$/;

export function validateCiConfig(ci: CiConfig): CiConfig {
  if (!REPOSITORY.test(ci.repository)) {
    throw new Error(`CI repository "${ci.repository}" must be a GitHub "owner/name"`);
  }
  if (!ACCOUNT_ID.test(ci.accountId)) {
    throw new Error(`CI accountId "${ci.accountId}" must be 12 digits`);
  }
  return ci;
}

/**
 * S3 bucket naming rules: 3 to 63 characters, lowercase letters, digits, dots and hyphens, starting
 * and ending with a letter or digit (https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html).
 */
const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const REGION = /^[a-z]{2}(-[a-z]+)+-\d$/;

/**
 * The state location from the environment. An unset or empty variable (GitHub renders an unset
 * `vars.X` as an empty string) takes the default; a set but malformed one fails with its name.
 */
export function stateConfigFrom(env: Readonly<Record<string, string | undefined>>): StateConfig {
  const read = (name: string, fallback: string, pattern: RegExp, rule: string) => {
    const value = env[name]?.trim() || fallback;
    if (!pattern.test(value)) throw new Error(`${name}="${value}" is not ${rule}`);
    return value;
  };
  return {
    // Globally unique; CI sets TF_STATE_BUCKET from a repository variable.
    bucket: read('TF_STATE_BUCKET', `${PROJECT}-tfstate`, BUCKET_NAME, 'a valid S3 bucket name'),
    region: read('TF_STATE_REGION', 'eu-west-1', REGION, 'an AWS region name'),
    keyPrefix: PROJECT,
  };
}

const NAME_PREFIX = /^[a-z][a-z0-9-]{1,15}$/;

export function validateConfig(config: EnvironmentConfig): EnvironmentConfig {
  if (!NAME_PREFIX.test(config.namePrefix)) {
    throw new Error(
      `namePrefix "${config.namePrefix}" must match ${NAME_PREFIX} (bucket names stay under 63 characters)`,
    );
  }
  if (config.athenaBytesScannedCutoff < 10_000_000) {
    throw new Error('athenaBytesScannedCutoff must be at least 10 MB, the Athena minimum');
  }
  if (config.maintenance.vacuumSchedule === config.maintenance.optimizeSchedule) {
    // Both commit to every Iceberg table; at the same moment one of them would lose the commit.
    throw new Error('maintenance.vacuumSchedule must differ from maintenance.optimizeSchedule');
  }
  if (config.retention.bronzeArchiveDays <= config.retention.bronzeInfrequentAccessDays) {
    throw new Error('retention.bronzeArchiveDays must come after retention.bronzeInfrequentAccessDays');
  }
  return config;
}

const GB = 1_000_000_000;

export const ENVIRONMENTS: readonly EnvironmentConfig[] = [
  {
    environment: 'dev',
    region: 'eu-west-1',
    namePrefix: 'agent-etl-dev',
    timezone: 'America/New_York',
    checkSchedule: 'cron(30 1 * * ? *)',
    webhookParameterNames: ['/agent-etl/dev/webhooks/slack'],
    athenaBytesScannedCutoff: 10 * GB,
    retention: {
      logDays: 14,
      athenaResultsDays: 7,
      bronzeInfrequentAccessDays: 30,
      bronzeArchiveDays: 90,
      bronzeNoncurrentDays: 30,
    },
    maintenance: { optimizeSchedule: 'cron(0 3 * * ? *)', vacuumSchedule: 'cron(0 5 * * ? *)' },
    protectData: false,
  },
  {
    environment: 'prod',
    region: 'eu-west-1',
    namePrefix: 'agent-etl-prod',
    timezone: 'America/New_York',
    checkSchedule: 'cron(30 1 * * ? *)',
    alertEmail: 'contact-center-data@example.com',
    webhookParameterNames: ['/agent-etl/prod/webhooks/slack'],
    athenaBytesScannedCutoff: 100 * GB,
    retention: {
      logDays: 90,
      athenaResultsDays: 30,
      bronzeInfrequentAccessDays: 30,
      bronzeArchiveDays: 180,
      bronzeNoncurrentDays: 90,
    },
    maintenance: { optimizeSchedule: 'cron(0 3 * * ? *)', vacuumSchedule: 'cron(0 5 * * ? *)' },
    protectData: true,
    deployRef: 'refs/heads/main',
  },
];
