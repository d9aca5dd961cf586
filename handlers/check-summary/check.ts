import {
  type AlertAction,
  coverageNotification,
  decideAlert,
  failedRunNotification,
  fingerprint,
} from '../coverage-check/alerts';
import {
  type CoverageResult,
  type CoverageWindow,
  dayWindow,
  evaluateCoverage,
  touchedDayWindows,
  trailingWindow,
  windowKey,
  yesterdayWindow,
} from '../coverage-check/coverage';
import type { CoverageQueries } from '../coverage-check/queries';
import type { OperatingSchedule } from '../coverage-check/schedule';
import { formatTimestamp } from '../coverage-check/wall-clock';
import type { AlertStateStore, Log, Publisher, QueryEngine } from '../ports';
import type { CompletionDetail } from './events';

/** A run that recomputed more days than this checks only the latest ones (a backfill must not page 300 times). */
export const MAX_DAYS_PER_RUN = 31;

export interface CheckDependencies {
  readonly engine: QueryEngine;
  readonly publisher: Publisher;
  readonly alertState: AlertStateStore;
  readonly log: Log;
  readonly queries: CoverageQueries;
  readonly timeZone: string;
  readonly schedule: OperatingSchedule | undefined;
  readonly now: () => Date;
}

export interface WindowOutcome {
  readonly result: CoverageResult;
  readonly action: AlertAction;
  /** Whether a notification went out for this window. */
  readonly published: boolean;
}

export interface CheckOutcome {
  readonly windows: readonly WindowOutcome[];
  /** Set when the check answered a failed run: its alert went out whatever the coverage. */
  readonly failedRun?: string;
}

/** Checks one window: coverage from the engine, then at most one notification, deduplicated by alert state. */
export async function checkWindow(window: CoverageWindow, deps: CheckDependencies): Promise<WindowOutcome> {
  const rows = await deps.engine.query(deps.queries.presentIntervals, [
    formatTimestamp(window.start),
    formatTimestamp(window.end),
  ]);
  const starts = rows.map((row) => String(row.interval_start));
  const result = evaluateCoverage(window, deps.schedule, starts);
  const key = windowKey(window);
  const previous = await deps.alertState.get(key);
  const action = decideAlert(result, previous);
  const notification = coverageNotification(result, action);
  const summary = {
    window: key,
    expected: result.expected,
    present: result.present,
    missingRanges: result.missing.length,
    severity: result.severity,
    action,
  };
  if (!notification) {
    deps.log.info('coverage checked, nothing to send', summary);
    return { result, action, published: false };
  }
  // Publish first, record after: a crash in between sends the alert again rather than never.
  await deps.publisher.publish(notification);
  await deps.alertState.put({
    windowKey: key,
    status: action === 'resolved' ? 'resolved' : 'open',
    fingerprint: action === 'resolved' ? '' : fingerprint(result),
    updatedAt: deps.now().toISOString(),
  });
  deps.log.info('coverage checked, notification published', { ...summary, subject: notification.subject });
  return { result, action, published: true };
}

/** The daily schedule: yesterday in the configured zone, or a window asked for by hand. */
export async function checkDaily(
  request: { day?: string | undefined; end?: string | undefined },
  deps: CheckDependencies,
): Promise<CheckOutcome> {
  const window = request.day
    ? dayWindow(request.day, deps.timeZone)
    : request.end
      ? trailingWindow(request.end, deps.timeZone)
      : yesterdayWindow(deps.now(), deps.timeZone);
  return { windows: [await checkWindow(window, deps)] };
}

/** After a run: a failed run alerts with its error; a successful one checks the days it recomputed. */
export async function checkCompletedRun(
  detail: CompletionDetail,
  deps: CheckDependencies,
): Promise<CheckOutcome> {
  if (detail.status === 'FAILED') {
    await deps.publisher.publish(failedRunNotification(detail));
    deps.log.info('pipeline run failed, alert published', {
      runId: detail.run_id,
      error: detail.error,
      executionArn: detail.execution_arn,
    });
    return { windows: [], failedRun: detail.run_id };
  }
  const [run] = await deps.engine.query(deps.queries.runExtent, [detail.run_id]);
  if (!run) {
    deps.log.warn('run not found in pipeline_runs, no days to check', { runId: detail.run_id });
    return { windows: [] };
  }
  if (run.first_interval === null || run.last_interval === null) {
    deps.log.info('run recomputed no intervals, no days to check', { runId: detail.run_id });
    return { windows: [] };
  }
  const { windows, skipped } = touchedDayWindows(
    String(run.first_interval),
    String(run.last_interval),
    deps.now(),
    deps.timeZone,
    MAX_DAYS_PER_RUN,
  );
  if (skipped > 0) {
    deps.log.warn('run recomputed more days than one check covers; checking the latest', {
      runId: detail.run_id,
      checked: windows.length,
      skipped,
    });
  }
  const outcomes: WindowOutcome[] = [];
  for (const window of windows) outcomes.push(await checkWindow(window, deps));
  return { windows: outcomes };
}
