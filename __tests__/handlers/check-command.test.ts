import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkAfterRun, runCheckCommand } from '../../cli/check/command';
import { Lake } from '../../local/lake';

/** Interval starts every 30 minutes from `from` (inclusive) to `to` (exclusive), both 'YYYY-MM-DD HH:MM'. */
function halfHours(from: string, to: string): string[] {
  const out: string[] = [];
  for (let t = Date.parse(`${from}:00Z`); t < Date.parse(`${to}:00Z`); t += 1_800_000) {
    out.push(new Date(t).toISOString().slice(0, 19).replace('T', ' '));
  }
  return out;
}

let dir: string;
let lake: Lake;

async function addIntervals(extension: string, starts: string[]): Promise<void> {
  for (const start of starts) {
    await lake.query('insert into agent_intervals values (?, cast(? as timestamp), 900000, 900, 0.25, 1)', [
      extension,
      start,
    ]);
  }
}

function outbox(): { subject: string; message: string; attributes: Record<string, string> }[] {
  try {
    return readFileSync(join(dir, 'outbox', 'notifications.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
  } catch {
    return [];
  }
}

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'agent-etl-check-'));
  lake = await Lake.open(dir);
});

afterEach(() => {
  lake.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('agent-etl check', () => {
  it('reports 14:00 to midnight missing when the feed stops at 14:00, exits 3 and publishes one alert', async () => {
    await addIntervals('1001', halfHours('2024-11-04 00:00', '2024-11-04 14:00'));
    await addIntervals('1002', halfHours('2024-11-04 09:00', '2024-11-04 12:00'));
    const out = await runCheckCommand({ lake: dir, day: '2024-11-04', timezone: 'UTC', json: true }, lake);
    expect(out.exitCode).toBe(3);
    expect(JSON.parse(out.stdout)).toEqual({
      window: { start: '2024-11-04 00:00:00', end: '2024-11-05 00:00:00' },
      expected: 48,
      present: 28,
      missing: [{ start: '2024-11-04 14:00:00', end: '2024-11-05 00:00:00' }],
      complete: false,
    });
    const sent = outbox();
    expect(sent).toHaveLength(1);
    expect(sent[0]?.attributes).toMatchObject({ kind: 'coverage_gap', severity: 'warning' });
    expect(sent[0]?.message).toContain('2024-11-04 14:00:00 to 2024-11-05 00:00:00');
    expect(sent[0]?.message).toContain('20 of 48 expected intervals have no data');
  });

  it('exits 0 on a complete day and sends nothing', async () => {
    await addIntervals('1001', halfHours('2024-11-04 00:00', '2024-11-05 00:00'));
    const out = await runCheckCommand({ lake: dir, day: '2024-11-04', timezone: 'UTC', json: false }, lake);
    expect(out.exitCode).toBe(0);
    expect(out.stdout).toContain('complete, 48 of 48');
    expect(outbox()).toEqual([]);
  });

  it('marks a day with no data at all as a load failure', async () => {
    await addIntervals('1001', halfHours('2024-11-03 08:00', '2024-11-03 10:00'));
    const out = await runCheckCommand({ lake: dir, day: '2024-11-04', timezone: 'UTC', json: false }, lake);
    expect(out.exitCode).toBe(3);
    expect(out.stdout).toContain('48 of 48 expected intervals missing (no data at all');
    expect(out.stdout).toContain('missing 2024-11-04 00:00:00 to 2024-11-05 00:00:00');
    expect(outbox()[0]?.attributes.severity).toBe('critical');
  });

  it('alerts once for the same gap, again when it changes, and once resolved when filled', async () => {
    await addIntervals('1001', halfHours('2024-11-04 00:00', '2024-11-04 14:00'));
    const check = () => runCheckCommand({ lake: dir, day: '2024-11-04', timezone: 'UTC', json: false }, lake);

    expect((await check()).exitCode).toBe(3);
    const again = await check();
    expect(again.exitCode).toBe(3);
    expect(again.stdout).toContain('not sent again');
    expect(outbox()).toHaveLength(1);

    await addIntervals('1001', halfHours('2024-11-04 14:00', '2024-11-04 20:00'));
    expect((await check()).exitCode).toBe(3);
    expect(outbox().map((n) => n.attributes.kind)).toEqual(['coverage_gap', 'coverage_changed']);
    expect(outbox()[1]?.message).toContain('2024-11-04 20:00:00 to 2024-11-05 00:00:00');

    await addIntervals('1001', halfHours('2024-11-04 20:00', '2024-11-05 00:00'));
    expect((await check()).exitCode).toBe(0);
    expect((await check()).exitCode).toBe(0);
    expect(outbox().map((n) => n.attributes.kind)).toEqual([
      'coverage_gap',
      'coverage_changed',
      'coverage_resolved',
    ]);
  });

  it('checks the 24 hours ending at --end across two days, in the zone given', async () => {
    // New York, 2024-03-10 12:00 back to 2024-03-09 12:00: 46 intervals, 02:00-03:00 never happened.
    await addIntervals('1001', halfHours('2024-03-09 12:00', '2024-03-09 23:00'));
    await addIntervals('1001', halfHours('2024-03-10 06:00', '2024-03-10 12:00'));
    const out = await runCheckCommand(
      { lake: dir, end: '2024-03-10 12:00:00', timezone: 'America/New_York', json: true },
      lake,
    );
    const json = JSON.parse(out.stdout);
    expect(json.expected).toBe(46);
    expect(json.present).toBe(22 + 12);
    expect(json.missing).toEqual([{ start: '2024-03-09 23:00:00', end: '2024-03-10 06:00:00' }]);
  });

  it('exits 1 with a message on stderr for bad input', async () => {
    const bad = await runCheckCommand(
      { lake: dir, day: '2024-11-04', timezone: 'Nowhere/Land', json: true },
      lake,
    );
    expect(bad).toMatchObject({ exitCode: 1, stdout: '' });
    expect(bad.stderr).toMatch(/unknown time zone 'Nowhere\/Land'/);
    const both = await runCheckCommand(
      { lake: dir, day: '2024-11-04', end: '2024-11-04 12:00:00', json: true },
      lake,
    );
    expect(both.stderr).toMatch(/--day or --end, not both/);
  });
});

describe('the check after a run', () => {
  const detail = {
    run_id: 'run-42',
    execution_arn: 'arn:aws:states:local:000000000000:execution:agent-etl:run-42',
    started_at: '2024-11-05T06:00:00Z',
    bucket: 'bronze',
    key: 'drops/agent\'s "events".csv',
  };

  it('alerts on a failed run with its error, whatever the coverage', async () => {
    const outcome = await checkAfterRun(
      dir,
      {
        ...detail,
        status: 'FAILED',
        error: 'InputContractError',
        cause: 'missing required column Extension',
      },
      lake,
    );
    expect(outcome.failedRun).toBe('run-42');
    const [alert] = outbox();
    expect(alert?.attributes).toEqual({ kind: 'run_failed', severity: 'critical', run_id: 'run-42' });
    expect(alert?.message).toContain('Error: InputContractError');
    expect(alert?.message).toContain('Cause: missing required column Extension');
    expect(alert?.message).toContain(`Object: s3://bronze/drops/agent's "events".csv`);
  });

  it('checks each day the run recomputed, from pipeline_runs', async () => {
    await lake.query(
      `insert into pipeline_runs (run_id, status, first_interval, last_interval)
       values (?, 'SUCCEEDED', cast(? as timestamp), cast(? as timestamp))`,
      ['run-42', '2024-11-03 22:00:00', '2024-11-04 13:30:00'],
    );
    await addIntervals('1001', halfHours('2024-11-03 00:00', '2024-11-04 14:00'));
    const outcome = await checkAfterRun(dir, { ...detail, status: 'SUCCEEDED' }, lake);
    expect(outcome.windows.map((w) => [w.result.window.start, w.result.complete])).toEqual([
      [Date.parse('2024-11-03T00:00:00Z'), true],
      [Date.parse('2024-11-04T00:00:00Z'), false],
    ]);
    expect(outbox()).toHaveLength(1);
    // 14:00 to midnight: 10 hours, 20 intervals
    expect(outcome.summary).toContain('2024-11-04 (UTC): 20 of 48 intervals missing');
  });
});
