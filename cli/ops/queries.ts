import type { QueryEngine, QueryRow, QueryValue } from '../../handlers/ports';
import { readSql } from '../../workflow/steps';

/**
 * Athena takes `?` execution parameters only in the WHERE clause of SELECT, INSERT, CTAS and UNLOAD,
 * each at most 1,024 characters long. The ops statements keep them there, and both engines refuse a
 * longer value here, so a prefix that would fail in AWS fails the same way locally.
 * https://docs.aws.amazon.com/athena/latest/ug/querying-with-prepared-statements.html
 */
export const MAX_PARAMETER_LENGTH = 1024;

export const OPS_SQL_FILES = {
  recentRuns: 'ops/recent_runs.sql',
  latestRuns: 'ops/latest_runs.sql',
} as const;

async function opsQuery(
  engine: QueryEngine,
  file: string,
  parameters: readonly QueryValue[],
): Promise<QueryRow[]> {
  for (const value of parameters) {
    if (typeof value === 'string' && value.length > MAX_PARAMETER_LENGTH) {
      throw new RangeError(
        `${file}: a parameter of ${value.length} characters is over Athena's ${MAX_PARAMETER_LENGTH}: '${value.slice(0, 40)}...'`,
      );
    }
  }
  return engine.query(readSql(file), parameters);
}

const text = (value: QueryValue | undefined): string | null =>
  value === null || value === undefined ? null : String(value);
const count = (value: QueryValue | undefined): number =>
  value === null || value === undefined ? 0 : Number(value);
/** Engines render timestamps with or without fractions; the commands show seconds. */
const seconds = (value: QueryValue | undefined): string | null => text(value)?.slice(0, 19) ?? null;

export type RunStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED';

export interface RunRecord {
  readonly runId: string;
  readonly sourceObject: string;
  readonly sourceEtag: string | null;
  readonly status: RunStatus;
  /** `YYYY-MM-DD HH:MM:SS`, UTC. */
  readonly startedAt: string;
  readonly finishedAt: string | null;
  readonly rowsRead: number;
  readonly rowsLoaded: number;
  readonly rowsRejected: number;
  readonly error: string | null;
}

/** The runs started at or after `since`, newest first. */
export async function recentRuns(engine: QueryEngine, since: Date): Promise<RunRecord[]> {
  const sinceText = since.toISOString().slice(0, 19).replace('T', ' ');
  const rows = await opsQuery(engine, OPS_SQL_FILES.recentRuns, [sinceText]);
  return rows.map((row) => ({
    runId: String(row.run_id),
    sourceObject: String(row.source_object),
    sourceEtag: text(row.source_etag),
    status: String(row.status) as RunStatus,
    startedAt: seconds(row.started_at) ?? '',
    finishedAt: seconds(row.finished_at),
    rowsRead: count(row.rows_read),
    rowsLoaded: count(row.rows_loaded),
    rowsRejected: count(row.rows_rejected),
    error: text(row.error),
  }));
}

export interface LatestRun {
  readonly sourceObject: string;
  readonly runId: string;
  readonly status: RunStatus;
  readonly startedAt: string;
  readonly error: string | null;
  /** ETag (local: MD5 hex) of the version the object's latest successful run read; null if none. */
  readonly succeededEtag: string | null;
}

/** Each object under `prefix` (`bucket/key-prefix`), with its latest run; ordered by object. */
export async function latestRuns(engine: QueryEngine, prefix: string): Promise<LatestRun[]> {
  const rows = await opsQuery(engine, OPS_SQL_FILES.latestRuns, [prefix]);
  return rows.map((row) => ({
    sourceObject: String(row.source_object),
    runId: String(row.latest_run_id),
    status: String(row.latest_status) as RunStatus,
    startedAt: seconds(row.latest_started_at) ?? '',
    error: text(row.latest_error),
    succeededEtag: text(row.succeeded_etag),
  }));
}
