import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { runCli as cli } from './support/cli';
import { removeDir, tempDir, writeCsv } from './support/lake';

// The settings check sits in front of every command's action: this is about what a user typing the
// command sees, so these tests run the built command.

let dir: string;
let lake: string;
let csv: string;
beforeEach(() => {
  dir = tempDir('agent-etl-settings-');
  lake = join(dir, 'lake');
  mkdirSync(join(dir, 'in'));
  csv = writeCsv(join(dir, 'in'), '2024-11-05.csv', ['2024-11-05 10:00:00,111,ONLINE,']);
});
afterEach(() => removeDir(dir));

/** Each command that reads a setting, as a user would type it against a lake that does not exist yet. */
const commands = (): Record<string, string[]> => ({
  run: ['run', csv, '--lake', lake],
  export: ['export', 'intervals', '--lake', lake],
  check: ['check', '--day', '2024-11-05', '--lake', lake],
  report: ['report', '--lake', lake, '--out', join(dir, 'report.html')],
  status: ['status', '--lake', lake],
  rerun: ['rerun', '--failed', '--lake', lake],
  backfill: ['backfill', join(dir, 'in'), '--lake', lake],
});

const SECRET = 's3cr3t-Pa55word';

const badSettings: [string, Record<string, string>, RegExp][] = [
  [
    'a memory limit DuckDB refuses',
    { AGENT_ETL_MEMORY_LIMIT: 'lots' },
    /^error: AGENT_ETL_MEMORY_LIMIT: 'lots'/,
  ],
  [
    'a webhook URL that is not http(s)',
    { AGENT_ETL_WEBHOOK_URL: 'ftp://127.0.0.1/hook' },
    /^error: AGENT_ETL_WEBHOOK_URL: not an http\(s\) URL/,
  ],
  [
    'a webhook URL with credentials',
    { AGENT_ETL_WEBHOOK_URL: `http://alert:${SECRET}@127.0.0.1:9/hook` },
    /^error: AGENT_ETL_WEBHOOK_URL: it holds a user name or password/,
  ],
  [
    'a webhook format that is neither slack nor json',
    { AGENT_ETL_WEBHOOK_FORMAT: 'xml' },
    /^error: AGENT_ETL_WEBHOOK_FORMAT: 'xml' is not one of slack, json/,
  ],
];

describe.each(badSettings)('%s', (_what, env, message) => {
  test('is refused by every command before it does any work, in one line naming the variable', async () => {
    const entries = Object.entries(commands());
    const results = await Promise.all(entries.map(([, args]) => cli(args, env)));
    for (const [index, [name]] of entries.entries()) {
      const result = results[index];
      expect({ name, code: result?.code, stdout: result?.stdout }).toEqual({ name, code: 1, stdout: '' });
      expect({ name, stderr: result?.stderr }).toEqual({ name, stderr: expect.stringMatching(message) });
      expect(result?.stderr.trimEnd().split('\n')).toHaveLength(1);
      expect(result?.stderr).not.toContain(SECRET);
    }
    // No lake was started, no report written.
    expect(existsSync(lake)).toBe(false);
    expect(existsSync(join(dir, 'report.html'))).toBe(false);
  });
});

test('generate reads no setting, so a bad one does not stop it', async () => {
  const out = join(dir, 'events.csv');
  const result = await cli(['generate', '--out', out, '--days', '1', '--extensions', '1'], {
    AGENT_ETL_MEMORY_LIMIT: 'lots',
  });
  expect(result.code).toBe(0);
  expect(readFileSync(out, 'utf8').split('\n')[0]).toBe('Done On,Extension,Action,Details');
});

test('a webhook whose token is its path: a refused alert leaves the token in no output and no file', async () => {
  const token = 'T0KEN-in-the-path-9f8e7d';
  const paths: string[] = [];
  const server = createServer((request, response) => {
    paths.push(request.url ?? '');
    request.resume();
    response.writeHead(404).end('no such hook');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/services/${token}`;
    // One event: the day has gaps, so the run's check publishes an alert, which the hook refuses.
    const result = await cli(['run', csv, '--lake', lake], { AGENT_ETL_WEBHOOK_URL: url });
    expect(result.code).toBe(0);
    expect(paths).toEqual([`/services/${token}`]);
    const deadLetters = readFileSync(join(lake, 'outbox', 'dead-letters.jsonl'), 'utf8');
    expect(JSON.parse(deadLetters)).toMatchObject({ target: 'AGENT_ETL_WEBHOOK_URL', failure: 'HTTP 404' });
    expect(`${result.stdout}${result.stderr}`).toContain('HTTP 404');
    expect(`${result.stdout}${result.stderr}`).not.toContain(token);
    const files = readdirSync(dir, { recursive: true, encoding: 'utf8' })
      .map((name) => join(dir, name))
      .filter((path) => statSync(path).isFile());
    expect(files).toContain(join(lake, 'outbox', 'notifications.jsonl'));
    for (const path of files) {
      expect({ path, holdsToken: readFileSync(path).includes(token) }).toEqual({ path, holdsToken: false });
    }
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});
