import { chmodSync, existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openOutFile } from '../cli/out-file';
import { startCli } from './support/cli';
import { removeDir, tempDir, withLakeAt } from './support/lake';

const write = (stream: NodeJS.WritableStream, text: string) =>
  new Promise<void>((resolve, reject) => stream.write(text, (error) => (error ? reject(error) : resolve())));

describe('an --out file is written all or nothing', () => {
  let dir: string;
  beforeEach(() => {
    dir = tempDir();
  });
  afterEach(() => removeDir(dir));

  test('a committed file holds what was written, and nothing else is left beside it', async () => {
    const out = join(dir, 'intervals.csv');
    const file = openOutFile(out);
    await write(file.stream, 'a,b\n');
    await write(file.stream, '1,2\n');
    expect(existsSync(out)).toBe(false);
    await file.commit();
    expect(readFileSync(out, 'utf8')).toBe('a,b\n1,2\n');
    expect(readdirSync(dir)).toEqual(['intervals.csv']);
  });

  test('an abandoned write leaves the earlier file as it was, and removes its partial copy', async () => {
    const out = join(dir, 'intervals.csv');
    writeFileSync(out, 'the export of yesterday\n');
    const file = openOutFile(out);
    await write(file.stream, 'half of tod');
    file.abandon();
    expect(readFileSync(out, 'utf8')).toBe('the export of yesterday\n');
    expect(readdirSync(dir)).toEqual(['intervals.csv']);
  });

  test('a replaced file keeps its permission bits', async () => {
    const out = join(dir, 'intervals.csv');
    writeFileSync(out, 'old\n');
    chmodSync(out, 0o640);
    const file = openOutFile(out);
    await write(file.stream, 'new\n');
    await file.commit();
    expect(readFileSync(out, 'utf8')).toBe('new\n');
    expect(statSync(out).mode & 0o777).toBe(0o640);
  });

  test('what is not a regular file is written in place', async () => {
    const file = openOutFile('/dev/null');
    await write(file.stream, 'nothing\n');
    await file.commit();
    expect(statSync('/dev/null').isCharacterDevice()).toBe(true);
  });

  test('a directory that cannot take the file is an error at once', () => {
    expect(() => openOutFile(join(dir, 'missing', 'intervals.csv'))).toThrow(/ENOENT/);
  });

  test('export --out killed midway leaves the earlier export in place', async () => {
    const lakeDir = join(dir, 'lake');
    // Enough rows that the export takes a while: the kill lands while it writes.
    await withLakeAt(lakeDir, (lake) =>
      lake.exec(`
        insert into agent_intervals
        select 'ext-' || (i % 3000), timestamp '2024-11-04 00:00:00' + to_minutes(30 * (i // 3000)),
          1000, 1.0, 1000 / 3600000.0, 1
        from range(1500000) as t(i)`),
    );
    const out = join(dir, 'intervals.csv');
    writeFileSync(out, 'the export of yesterday\n');
    const started = startCli(['export', 'intervals', '--lake', lakeDir, '--out', out]);
    const partial = () => readdirSync(dir).find((name) => name.endsWith('.partial'));
    const deadline = Date.now() + 30_000;
    while (!(partial() && statSync(join(dir, partial() as string)).size > 0) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(partial()).toBeDefined();
    started.child.kill('SIGKILL');
    const result = await started.done;
    expect(result.signal).toBe('SIGKILL');
    expect(readFileSync(out, 'utf8')).toBe('the export of yesterday\n');
  }, 60_000);
});
