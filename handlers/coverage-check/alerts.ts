import type { AlertState, Notification } from '../ports';
import type { CoverageResult, CoverageWindow } from './coverage';
import { formatDate, formatTimestamp } from './wall-clock';

/**
 * What a check does about a window, given what was last sent:
 * gap (first alert), changed (the missing set moved), resolved (complete after an alert),
 * unchanged (same missing set already alerted) and quiet (complete, nothing outstanding).
 */
export type AlertAction = 'gap' | 'changed' | 'resolved' | 'unchanged' | 'quiet';

export function fingerprint(result: CoverageResult): string {
  return result.missing.map((range) => `${range.start}/${range.end}`).join(',');
}

export function decideAlert(result: CoverageResult, previous: AlertState | undefined): AlertAction {
  const outstanding = previous?.status === 'open';
  if (result.complete) return outstanding ? 'resolved' : 'quiet';
  if (!outstanding) return 'gap';
  return previous.fingerprint === fingerprint(result) ? 'unchanged' : 'changed';
}

/** How many missing ranges a message lists before summarizing the rest. */
const LISTED_RANGES = 20;

function windowLabel(window: CoverageWindow): string {
  const label =
    window.kind === 'day'
      ? formatDate(window.start)
      : `24 hours to ${formatTimestamp(window.end).slice(0, 16)}`;
  return `${label} (${window.timeZone})`;
}

function coverageAttributes(result: CoverageResult, kind: string, severity: string): Record<string, string> {
  return {
    kind,
    severity,
    timezone: result.window.timeZone,
    window_start: formatTimestamp(result.window.start),
    window_end: formatTimestamp(result.window.end),
  };
}

/** The message for a window that needs one; undefined for `unchanged` and `quiet`. */
export function coverageNotification(result: CoverageResult, action: AlertAction): Notification | undefined {
  const label = windowLabel(result.window);
  const bounds = `Window: ${formatTimestamp(result.window.start)} to ${formatTimestamp(result.window.end)} (end exclusive).`;
  if (action === 'resolved') {
    return {
      subject: `Coverage restored: ${label}`,
      message: [`All ${result.expected} expected intervals of ${label} now have data.`, bounds].join('\n'),
      attributes: coverageAttributes(result, 'coverage_resolved', 'info'),
    };
  }
  if (action !== 'gap' && action !== 'changed') return undefined;

  const missingCount = result.expected - result.present;
  const headline =
    result.severity === 'no_data'
      ? `No data for ${label}: none of the ${result.expected} expected intervals has a row in agent_intervals. ` +
        'This looks like a load failure: check the latest pipeline runs.'
      : `${missingCount} of ${result.expected} expected intervals ${missingCount === 1 ? 'has' : 'have'} no data for ${label}.`;
  const listed = result.missing.slice(0, LISTED_RANGES).map((range) => `  ${range.start} to ${range.end}`);
  const more = result.missing.length - listed.length;
  const lines = [
    ...(action === 'changed' ? ['The missing intervals changed since the last alert.'] : []),
    headline,
    'Missing (end exclusive):',
    ...listed,
    ...(more > 0 ? [`  ... and ${more} more ranges`] : []),
    bounds,
  ];
  const what =
    result.severity === 'no_data'
      ? 'No data'
      : `${missingCount} interval${missingCount === 1 ? '' : 's'} missing`;
  return {
    subject: `${action === 'changed' ? 'Coverage gap changed' : 'Coverage gap'}: ${what}, ${label}`,
    message: lines.join('\n'),
    attributes: coverageAttributes(
      result,
      action === 'changed' ? 'coverage_changed' : 'coverage_gap',
      result.severity === 'no_data' ? 'critical' : 'warning',
    ),
  };
}

export interface FailedRun {
  readonly run_id: string;
  readonly execution_arn: string;
  readonly started_at: string;
  readonly bucket: string;
  readonly key: string;
  readonly error?: string | undefined;
  readonly cause?: string | undefined;
}

/** A failed run always alerts: nothing was loaded, whatever the coverage says. */
export function failedRunNotification(run: FailedRun): Notification {
  return {
    subject: `Pipeline run failed: ${run.run_id}`,
    message: [
      `Pipeline run ${run.run_id} failed; nothing from its object reached the gold tables.`,
      `Object: s3://${run.bucket}/${run.key}`,
      `Error: ${run.error ?? '(none given)'}`,
      `Cause: ${run.cause ?? '(none given)'}`,
      `Execution: ${run.execution_arn}`,
      `Started: ${run.started_at}`,
    ].join('\n'),
    attributes: { kind: 'run_failed', severity: 'critical', run_id: run.run_id },
  };
}
