import { execFileSync } from 'node:child_process';
import { mkdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';
import { LAMBDA_BUNDLE_OPTIONS } from '../workflow/lambda-bundle';

/** The Lambda entry points, each bundled on its own as the stacks deploy it. */
export const HANDLER_ENTRIES = {
  'check-summary': 'handlers/check-summary/index.ts',
  notify: 'handlers/notify/index.ts',
} as const;

export interface HandlerMeasure {
  readonly name: string;
  readonly bundleBytes: number;
  /** Median over `runs` fresh Node processes of the time to load the bundle (require, top-level code). */
  readonly coldLoadMs: number;
}

/** Bundles a handler the way the stacks deploy it. */
export async function bundleHandler(root: string, entry: string, outfile: string): Promise<void> {
  await build({ ...LAMBDA_BUNDLE_OPTIONS, entryPoints: [join(root, entry)], outfile });
}

const LOAD_PROBE = `
const { performance } = require('node:perf_hooks');
const start = performance.now();
require(process.argv[1]);
process.stdout.write(String(performance.now() - start));
`;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

/**
 * Bundles each handler into `bench/out/` and measures its cold module load in fresh child processes.
 * `root` is the repository root; `bench/` and `dist/` both sit one level below it.
 */
export async function measureHandlers(root = resolve(__dirname, '..'), runs = 7): Promise<HandlerMeasure[]> {
  const outDir = join(root, 'bench', 'out');
  mkdirSync(outDir, { recursive: true });
  const measures: HandlerMeasure[] = [];
  for (const [name, entry] of Object.entries(HANDLER_ENTRIES)) {
    const outfile = join(outDir, `${name}.js`);
    await bundleHandler(root, entry, outfile);
    const times: number[] = [];
    for (let i = 0; i < runs; i += 1) {
      const out = execFileSync(process.execPath, ['-e', LOAD_PROBE, outfile], {
        env: { PATH: process.env.PATH, AWS_REGION: 'us-east-1', POWERTOOLS_SERVICE_NAME: name },
        encoding: 'utf8',
      });
      times.push(Number(out));
    }
    measures.push({
      name,
      bundleBytes: statSync(outfile).size,
      coldLoadMs: Math.round(median(times) * 10) / 10,
    });
  }
  return measures;
}
