import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Lake } from '../../local/lake';
import { removeDir, tempDir } from '../support/lake';

const BIN = join(__dirname, '..', '..', 'bin', 'agent-etl.js');
const cli = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8' });

let dir: string;
beforeEach(() => {
  dir = tempDir('agent-etl-report-cli-');
});
afterEach(() => removeDir(dir));

describe('agent-etl report', () => {
  test('a lake that does not exist: exit 1, one line naming it, no page and no lake created', () => {
    const lake = join(dir, 'nowhere');
    const result = cli('report', '--lake', lake, '--out', join(dir, 'r.html'));
    expect(result.status).toBe(1);
    expect(result.stderr).toBe(
      `error: no lake at ${lake}: run \`agent-etl run FILE --lake ${lake}\` first\n`,
    );
    expect(existsSync(lake)).toBe(false);
    expect(existsSync(join(dir, 'r.html'))).toBe(false);
  });

  test('an unknown time zone or a bad day: exit 1 with the reason, no page', async () => {
    const lake = join(dir, 'lake');
    (await Lake.open(lake)).close();
    const out = join(dir, 'r.html');
    const zone = cli('report', '--lake', lake, '--out', out, '--timezone', 'Europe/Atlantis');
    expect([zone.status, zone.stderr]).toEqual([
      1,
      "error: unknown time zone 'Europe/Atlantis' (expected an IANA name such as America/New_York)\n",
    ]);
    const day = cli('report', '--lake', lake, '--out', out, '--from', '11/04/2024');
    // Refused as the option is read, as every bad argument is (with the usage after it).
    expect([day.status, day.stderr.split('\n')[0]]).toEqual([
      1,
      "error: option '--from <date>' argument '11/04/2024' is invalid. expected a calendar day YYYY-MM-DD, got '11/04/2024'",
    ]);
    expect(existsSync(out)).toBe(false);
  });
});
