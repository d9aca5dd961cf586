import {
  type CheckDependencies,
  type CheckOutcome,
  checkCompletedRun,
  checkDaily,
} from '../../handlers/check-summary/check';
import type { CompletionDetail } from '../../handlers/check-summary/events';
import { type CoverageResult, coverageJson } from '../../handlers/coverage-check/coverage';
import { COVERAGE_SQL_FILES, type CoverageQueries } from '../../handlers/coverage-check/queries';
import { parseOperatingSchedule } from '../../handlers/coverage-check/schedule';
import { assertTimeZone, formatDate, formatTimestamp } from '../../handlers/coverage-check/wall-clock';
import type { Log, QueryEngine } from '../../handlers/ports';
import { StrictAthenaEngine } from '../../local/strict-twin';
import { readSql } from '../../workflow/steps';
import { alertStateFile, FileAlertStateStore } from './alert-state';
import { notificationsFile, OutboxPublisher } from './outbox';

/** Local runs are quiet on success; warnings and errors go to stderr. */
const stderrLog: Log = {
  info: () => undefined,
  warn: (message, ...attributes) =>
    process.stderr.write(`warning: ${message} ${JSON.stringify(attributes)}\n`),
  error: (message, ...attributes) =>
    process.stderr.write(`error: ${message} ${JSON.stringify(attributes)}\n`),
};

function coverageQueries(): CoverageQueries {
  return {
    presentIntervals: readSql(COVERAGE_SQL_FILES.presentIntervals),
    runExtent: readSql(COVERAGE_SQL_FILES.runExtent),
  };
}

/**
 * Local settings: `timezone` (the `--timezone` flag) over `AGENT_ETL_TIMEZONE` over UTC, and
 * `AGENT_ETL_OPERATING_SCHEDULE` (the JSON of docs/alerts.md) for the operating schedule.
 */
function localDependencies(
  lake: string,
  engine: QueryEngine,
  timezone: string | undefined,
): CheckDependencies {
  const timeZone = timezone ?? process.env.AGENT_ETL_TIMEZONE ?? 'UTC';
  assertTimeZone(timeZone);
  return {
    // Every coverage statement as Athena would take it: the strict twin refuses what Athena refuses.
    engine: new StrictAthenaEngine(engine),
    publisher: new OutboxPublisher(lake, stderrLog),
    alertState: new FileAlertStateStore(alertStateFile(lake)),
    log: stderrLog,
    queries: coverageQueries(),
    timeZone,
    schedule: parseOperatingSchedule(process.env.AGENT_ETL_OPERATING_SCHEDULE),
    now: () => new Date(),
  };
}

export interface CheckCommandOptions {
  readonly lake: string;
  readonly day?: string;
  readonly end?: string;
  readonly timezone?: string;
  readonly json: boolean;
}

export interface CommandResult {
  /** 0 complete, 3 gaps (alert published unless already sent), 1 error. */
  readonly exitCode: 0 | 1 | 3;
  readonly stdout: string;
  /** The error, for the CLI to print on stderr, when exitCode is 1. */
  readonly stderr?: string;
}

function windowLabel(result: CoverageResult): string {
  const { window } = result;
  const label =
    window.kind === 'day'
      ? formatDate(window.start)
      : `${formatTimestamp(window.start)} to ${formatTimestamp(window.end)}`;
  return `${label} (${window.timeZone})`;
}

function summary(lake: string, outcome: CheckOutcome): string {
  const lines: string[] = [];
  for (const { result, action, published } of outcome.windows) {
    lines.push(
      result.complete
        ? `${windowLabel(result)}: complete, ${result.present} of ${result.expected} expected intervals have data`
        : `${windowLabel(result)}: ${result.expected - result.present} of ${result.expected} expected intervals missing${
            result.severity === 'no_data' ? ' (no data at all: load failure?)' : ''
          }`,
    );
    for (const range of result.missing) lines.push(`  missing ${range.start} to ${range.end}`);
    if (published) {
      const what = action === 'resolved' ? 'resolved message' : 'alert';
      lines.push(`  ${what} published to ${notificationsFile(lake)}`);
    } else if (action === 'unchanged') {
      lines.push('  already alerted with the same missing intervals; not sent again');
    }
  }
  return `${lines.join('\n')}\n`;
}

/** `agent-etl check`: one window (yesterday by default), the `--json` shape or a short summary. */
export async function runCheckCommand(
  opts: CheckCommandOptions,
  engine: QueryEngine,
): Promise<CommandResult> {
  try {
    if (opts.day && opts.end) throw new Error('give --day or --end, not both');
    const deps = localDependencies(opts.lake, engine, opts.timezone);
    const outcome = await checkDaily({ day: opts.day, end: opts.end }, deps);
    const [checked] = outcome.windows;
    if (!checked) throw new Error('no window was checked');
    return {
      exitCode: checked.result.complete ? 0 : 3,
      stdout: opts.json ? `${JSON.stringify(coverageJson(checked.result))}\n` : summary(opts.lake, outcome),
    };
  } catch (error) {
    return { exitCode: 1, stdout: '', stderr: `agent-etl check: ${(error as Error).message}` };
  }
}

/**
 * What `agent-etl run` does after each run, as the completion event does in AWS; a line per day with
 * gaps. The run has committed by then: a check that cannot be made (a corrupt alert-state.json) is
 * returned as `failure`, for the command to report beside its summary, never thrown past the run.
 */
export async function checkAfterRun(
  lake: string,
  detail: CompletionDetail,
  engine: QueryEngine,
): Promise<CheckOutcome & { summary: string; failure?: string }> {
  let outcome: CheckOutcome;
  try {
    outcome = await checkCompletedRun(detail, localDependencies(lake, engine, undefined));
  } catch (error) {
    return { windows: [], summary: '', failure: (error as Error).message };
  }
  const lines: string[] = [];
  if (outcome.failedRun)
    lines.push(`run ${outcome.failedRun} failed: alert published to ${notificationsFile(lake)}`);
  if (outcome.windows.length > 0) {
    const gaps = outcome.windows.filter((w) => !w.result.complete);
    const published = outcome.windows.filter((w) => w.published).length;
    lines.push(
      `${outcome.windows.length} day${outcome.windows.length === 1 ? '' : 's'} checked, ${gaps.length} with gaps${
        published > 0
          ? `, ${published} notification${published === 1 ? '' : 's'} in ${notificationsFile(lake)}`
          : ''
      }`,
    );
    for (const { result } of gaps) {
      lines.push(
        `  ${windowLabel(result)}: ${result.expected - result.present} of ${result.expected} intervals missing`,
      );
    }
  }
  return { ...outcome, summary: lines.map((line) => `${line}\n`).join('') };
}
