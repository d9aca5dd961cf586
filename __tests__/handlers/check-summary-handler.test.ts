import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CheckDependencies } from '../../handlers/check-summary/check';
import { createCheckSummaryHandler, logger } from '../../handlers/check-summary/handler';
import { COVERAGE_SQL_FILES } from '../../handlers/coverage-check/queries';
import type { AlertState, Notification } from '../../handlers/ports';
import { Lake } from '../../local/lake';
import { COMPLETION_EVENT } from '../../workflow/definition';
import { readSql } from '../../workflow/steps';

let dir: string;
let lake: Lake;
let published: Notification[];
let deps: CheckDependencies;

beforeAll(() => logger.setLogLevel('SILENT'));

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'agent-etl-handler-'));
  lake = await Lake.open(dir);
  published = [];
  const states = new Map<string, AlertState>();
  deps = {
    engine: lake,
    publisher: { publish: async (n) => void published.push(n) },
    alertState: { get: async (k) => states.get(k), put: async (s) => void states.set(s.windowKey, s) },
    log: logger,
    queries: {
      presentIntervals: readSql(COVERAGE_SQL_FILES.presentIntervals),
      runExtent: readSql(COVERAGE_SQL_FILES.runExtent),
    },
    timeZone: 'America/New_York',
    schedule: undefined,
    // 06:00 UTC on 11 March 2024 is 02:00 in New York (EDT, UTC-4): yesterday there was 10 March.
    now: () => new Date('2024-03-11T06:00:00Z'),
  };
});

afterEach(() => {
  lake.close();
  rmSync(dir, { recursive: true, force: true });
});

const envelope = {
  version: '0',
  id: 'e-1',
  account: '123456789012',
  time: '2024-03-11T06:00:00Z',
  region: 'us-east-1',
  resources: [],
};

describe('the check-summary handler', () => {
  it('checks yesterday in the configured zone on the Scheduler input, spring-forward day included', async () => {
    const handler = createCheckSummaryHandler(() => deps);
    const result = await handler({ check: 'daily' });
    expect(result.windows).toHaveLength(1);
    expect(result.windows[0]).toMatchObject({
      window: { start: '2024-03-10 00:00:00', end: '2024-03-11 00:00:00' },
      expected: 46,
      present: 0,
      complete: false,
      action: 'gap',
    });
    expect(published).toHaveLength(1);
    expect(published[0]?.subject).toBe('Coverage gap: No data, 2024-03-10 (America/New_York)');
  });

  it('checks yesterday on an EventBridge scheduled rule too', async () => {
    const handler = createCheckSummaryHandler(() => deps);
    const result = await handler({
      ...envelope,
      source: 'aws.events',
      'detail-type': 'Scheduled Event',
      detail: {},
    });
    expect(result.windows[0]?.window.start).toBe('2024-03-10 00:00:00');
  });

  it('alerts on a failed run from the completion event, with the execution’s error', async () => {
    const handler = createCheckSummaryHandler(() => deps);
    const result = await handler({
      ...envelope,
      source: COMPLETION_EVENT.source,
      'detail-type': COMPLETION_EVENT.detailType,
      detail: {
        status: 'FAILED',
        run_id: 'exec-7',
        execution_arn: 'arn:aws:states:us-east-1:123456789012:execution:etl:exec-7',
        started_at: '2024-03-11T05:59:00Z',
        bucket: 'bronze',
        key: 'drops/day.csv',
        error: 'States.TaskFailed',
        cause: 'Glue job failed: file has no valid row',
      },
    });
    expect(result).toEqual({ failedRun: 'exec-7', windows: [] });
    expect(published).toHaveLength(1);
    expect(published[0]?.attributes).toEqual({ kind: 'run_failed', severity: 'critical', run_id: 'exec-7' });
    expect(published[0]?.message).toContain('Cause: Glue job failed: file has no valid row');
  });

  it('refuses an event it does not know, and a completion event without a run id', async () => {
    const handler = createCheckSummaryHandler(() => deps);
    await expect(handler({ hello: 'world' })).rejects.toThrow(/unrecognised event/);
    await expect(
      handler({
        ...envelope,
        source: COMPLETION_EVENT.source,
        'detail-type': COMPLETION_EVENT.detailType,
        detail: { status: 'SUCCEEDED' },
      }),
    ).rejects.toThrow(/unrecognised event/);
    expect(published).toEqual([]);
  });
});
