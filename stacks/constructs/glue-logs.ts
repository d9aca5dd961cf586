import type { EnvironmentConfig } from '../config';

/**
 * Glue 5 ignores `--enable-continuous-cloudwatch-log` and `--continuous-log-logGroup` (Glue 4 and
 * earlier). It writes driver and executor logs to `<prefix>/error` and the script's stdout and stderr
 * to `<prefix>/output`, where `--custom-logGroup-prefix` sets the prefix, by default `/aws-glue/jobs`
 * (https://docs.aws.amazon.com/glue/latest/dg/monitor-continuous-logging.html). The prefix may hold
 * at most 400 characters, none of them `:` or `*` (same page).
 */
export const GLUE_LOG_STREAMS = ['output', 'error'] as const;
export type GlueLogStream = (typeof GLUE_LOG_STREAMS)[number];
export const glueLogGroupPrefix = (config: EnvironmentConfig) =>
  `/aws-glue/jobs/${config.namePrefix}-csv-to-parquet`;
