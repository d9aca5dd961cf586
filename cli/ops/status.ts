import {
  type CoverageResult,
  coverageJson,
  dayWindow,
  evaluateCoverage,
} from '../../handlers/coverage-check/coverage';
import { COVERAGE_SQL_FILES } from '../../handlers/coverage-check/queries';
import {
  DAY_MS,
  formatDate,
  formatTimestamp,
  parseDate,
  startOfDay,
  wallClockAt,
} from '../../handlers/coverage-check/wall-clock';
import { readSql } from '../../workflow/steps';
import { type LatestRun, latestRuns, type RunRecord, recentRuns } from './queries';
import type { ExecutionSummary, OpsTarget } from './target';

/** How a run stands: a RUNNING row whose execution is not running any more never finished. */
export type RunState = 'succeeded' | 'failed' | 'running' | 'unfinished';

export interface StatusReport {
  readonly target: string;
  /** Runs started at or after this instant (ISO 8601, UTC). */
  readonly since: string;
  readonly timeZone: string;
  readonly runs: readonly (RunRecord & { readonly state: RunState })[];
  /** Every object whose latest run failed or did not finish: what `rerun --failed` takes. */
  readonly toRerun: readonly LatestRun[];
  /** Executions that stopped badly and left no row in pipeline_runs (AWS only). */
  readonly lostExecutions: readonly ExecutionSummary[];
  readonly days: readonly CoverageResult[];
  /** 0 all well, 3 a day has gaps or an object needs a rerun. */
  readonly exitCode: 0 | 3;
}

/** A line per day of coverage: past a year the page is neither short nor quick (the report's limit too). */
export const MAX_STATUS_DAYS = 366;

const FAILED_EXECUTION = new Set(['FAILED', 'TIMED_OUT', 'ABORTED']);

function runState(status: string, runId: string, running: ReadonlySet<string>): RunState {
  if (status === 'SUCCEEDED') return 'succeeded';
  if (status === 'FAILED') return 'failed';
  return running.has(runId) ? 'running' : 'unfinished';
}

/** An object whose latest run failed, or stayed RUNNING while no execution of that name runs. */
export function needsRerun(object: LatestRun, running: ReadonlySet<string>): boolean {
  const state = runState(object.status, object.runId, running);
  return state === 'failed' || state === 'unfinished';
}

/** The `days` calendar days that end with `until` (default: yesterday on the zone's clocks). */
export function statusDays(days: number, until: string | undefined, now: Date, timeZone: string): string[] {
  const last =
    until === undefined ? startOfDay(wallClockAt(now.getTime(), timeZone)) - DAY_MS : parseDate(until);
  return Array.from({ length: days }, (_, index) => formatDate(last - (days - 1 - index) * DAY_MS));
}

export async function collectStatus(
  target: OpsTarget,
  options: { days: number; until?: string; now: Date },
): Promise<StatusReport> {
  const since = new Date(options.now.getTime() - options.days * DAY_MS);
  const runs = await recentRuns(target.engine, since);
  const latest = await latestRuns(target.engine, '');
  const executions = await target.executions(since);
  const running = await target.runningExecutions();
  const recorded = new Set(runs.map((run) => run.runId));
  const lostExecutions = (executions ?? []).filter(
    (execution) => FAILED_EXECUTION.has(execution.status) && !recorded.has(execution.name),
  );
  const toRerun = latest.filter((object) => needsRerun(object, running));

  const dayList = statusDays(options.days, options.until, options.now, target.timeZone);
  const first = parseDate(dayList[0] ?? '');
  const end = parseDate(dayList[dayList.length - 1] ?? '') + DAY_MS;
  const present = await target.engine.query(readSql(COVERAGE_SQL_FILES.presentIntervals), [
    formatTimestamp(first),
    formatTimestamp(end),
  ]);
  const startsByDay = new Map<string, string[]>();
  for (const row of present) {
    const start = String(row.interval_start);
    const day = start.slice(0, 10);
    startsByDay.set(day, [...(startsByDay.get(day) ?? []), start]);
  }
  const days = dayList.map((day) =>
    evaluateCoverage(dayWindow(day, target.timeZone), target.schedule, startsByDay.get(day) ?? []),
  );
  const healthy = days.every((day) => day.complete) && toRerun.length === 0 && lostExecutions.length === 0;
  return {
    target: target.description,
    since: since.toISOString(),
    timeZone: target.timeZone,
    runs: runs.map((run) => ({ ...run, state: runState(run.status, run.runId, running) })),
    toRerun,
    lostExecutions,
    days,
    exitCode: healthy ? 0 : 3,
  };
}

const number = (n: number) => n.toLocaleString('en-US');
const plural = (n: number, word: string) => `${number(n)} ${word}${n === 1 ? '' : 's'}`;

export function formatStatus(report: StatusReport): string {
  const lines: string[] = [];
  const count = (state: RunState) => report.runs.filter((run) => run.state === state).length;
  const sum = (key: 'rowsRead' | 'rowsLoaded' | 'rowsRejected') =>
    report.runs.reduce((total, run) => total + run[key], 0);
  lines.push(`agent-etl status: ${report.target}`);
  lines.push(
    `runs since ${report.since.slice(0, 16).replace('T', ' ')} UTC: ${count('succeeded')} succeeded, ${count('failed')} failed, ${count('unfinished')} unfinished, ${count('running')} running`,
  );
  lines.push(
    `  rows     read ${number(sum('rowsRead'))}, loaded ${number(sum('rowsLoaded'))}, rejected ${number(sum('rowsRejected'))}`,
  );
  for (const run of report.runs.filter((r) => r.state !== 'succeeded')) {
    const detail = run.state === 'failed' ? `: ${run.error ?? 'no error recorded'}` : '';
    lines.push(
      `  ${run.state.padEnd(10)} ${run.sourceObject}  run ${run.runId}, started ${run.startedAt}${detail}`,
    );
  }
  for (const execution of report.lostExecutions) {
    lines.push(
      `  execution ${execution.name} ${execution.status} at ${execution.startedAt} with no row in pipeline_runs`,
    );
  }
  if (report.toRerun.length > 0) {
    lines.push(
      `objects whose latest run failed or did not finish (agent-etl rerun --failed): ${report.toRerun.length}`,
    );
    for (const object of report.toRerun) {
      lines.push(`  ${object.sourceObject}  ${object.status.toLowerCase()} in run ${object.runId}`);
    }
  }
  lines.push(`coverage (${report.timeZone}):`);
  for (const day of report.days) {
    const label = formatDate(day.window.start);
    lines.push(
      day.complete
        ? `  ${label}  complete  ${day.present}/${day.expected}`
        : `  ${label}  ${day.severity === 'no_data' ? 'no data ' : 'gaps    '}  ${day.present}/${day.expected}`,
    );
    for (const range of day.missing) lines.push(`    missing ${range.start} to ${range.end}`);
  }
  const gaps = report.days.filter((day) => !day.complete).length;
  lines.push(
    report.exitCode === 0
      ? 'all well'
      : `attention: ${plural(gaps, 'day')} with gaps, ${plural(report.toRerun.length, 'object')} to rerun${
          report.lostExecutions.length > 0
            ? `, ${plural(report.lostExecutions.length, 'lost execution')}`
            : ''
        }`,
  );
  return `${lines.join('\n')}\n`;
}

export function statusJson(report: StatusReport): string {
  return `${JSON.stringify(
    {
      target: report.target,
      since: report.since,
      time_zone: report.timeZone,
      ok: report.exitCode === 0,
      runs: report.runs.map((run) => ({
        run_id: run.runId,
        source_object: run.sourceObject,
        source_etag: run.sourceEtag,
        status: run.status,
        state: run.state,
        started_at: run.startedAt,
        finished_at: run.finishedAt,
        rows_read: run.rowsRead,
        rows_loaded: run.rowsLoaded,
        rows_rejected: run.rowsRejected,
        error: run.error,
      })),
      to_rerun: report.toRerun.map((object) => ({
        source_object: object.sourceObject,
        run_id: object.runId,
        status: object.status,
        started_at: object.startedAt,
        error: object.error,
      })),
      lost_executions: report.lostExecutions,
      days: report.days.map((day) => ({ day: formatDate(day.window.start), ...coverageJson(day) })),
    },
    null,
    2,
  )}\n`;
}
