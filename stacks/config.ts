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
  /** Protect the alert table and the key from an accidental destroy. */
  readonly protectData: boolean;
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

/** Where Terraform state lives: one bucket (made by the bootstrap stack), one key per stack. */
export interface StateConfig {
  readonly bucket: string;
  readonly region: string;
  readonly keyPrefix: string;
}

export const PROJECT = 'agent-activity-etl';

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
    protectData: true,
  },
];
