import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Lake } from '../local/lake';

/**
 * Peak resident memory of `agent-etl export` on a large interval table: `npm run bench:export --
 * [ROWS] [CLI.js ...]` fills a lake with ROWS interval rows (default 1,750,000), then runs each built
 * command (default dist/cli.js) on it, to a file and as CSV and JSON, and prints peak RSS, time and
 * the output's SHA-256 (the same hash from two builds means the same bytes).
 */
const rows = Number(process.argv[2] ?? 1_750_000);
const clis = process.argv.slice(3).map((path) => resolve(path));
if (clis.length === 0) clis.push(resolve(__dirname, 'cli.js'));

// Printed by the measured process itself as it exits: the kernel's high-water mark of its resident set.
const PEAK_RSS = `process.on('exit', () => process.stderr.write('peak-rss-kib ' + process.resourceUsage().maxRSS + '\\n'));`;

async function fillLake(root: string): Promise<void> {
  const lake = await Lake.open(root);
  try {
    await lake.exec(`
      insert into agent_intervals
      select
        cast(100000 + i % 20000 as varchar) as extension,
        timestamp '2020-01-01 00:00:00' + to_minutes(30 * (i // 20000)) as interval_start,
        (i * 37) % 1800000 as productive_ms,
        ((i * 37) % 1800000) / 1000.0 as productive_seconds,
        ((i * 37) % 1800000) / 3600000.0 as productive_hours,
        i % 7 as event_count
      from range(${rows}) as t(i)`);
  } finally {
    lake.close();
  }
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'agent-etl-export-memory-'));
  try {
    const lake = join(dir, 'lake');
    await fillLake(lake);
    const preload = join(dir, 'peak-rss.js');
    writeFileSync(preload, PEAK_RSS);
    process.stdout.write(
      `export intervals, ${rows.toLocaleString('en-US')} rows, AGENT_ETL_MEMORY_LIMIT=${process.env.AGENT_ETL_MEMORY_LIMIT ?? '(default 1GB)'}\n`,
    );
    for (const format of ['csv', 'json']) {
      for (const cli of clis) {
        const out = join(dir, `out.${format}`);
        const started = process.hrtime.bigint();
        const child = spawnSync(
          process.execPath,
          ['-r', preload, cli, 'export', 'intervals', '--lake', lake, '--format', format, '--out', out],
          { encoding: 'utf8' },
        );
        const seconds = Number(process.hrtime.bigint() - started) / 1e9;
        if (child.status !== 0) throw new Error(`${cli} failed: ${child.stderr}`);
        const peak = Number(/peak-rss-kib (\d+)/.exec(child.stderr)?.[1]) / 1024;
        const hash = createHash('sha256').update(readFileSync(out)).digest('hex').slice(0, 16);
        process.stdout.write(
          `  ${format.padEnd(4)} ${cli}: peak RSS ${peak.toFixed(0)} MiB, ${seconds.toFixed(1)} s, sha256 ${hash}\n`,
        );
        rmSync(out);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error).message}\n`);
  process.exitCode = 1;
});
