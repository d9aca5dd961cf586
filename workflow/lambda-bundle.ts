import type { BuildOptions } from 'esbuild';

/**
 * How every Lambda handler is bundled, stated once: by the stacks at synth time and by the benchmark
 * that measures the bundles.
 */
export const LAMBDA_BUNDLE_OPTIONS = {
  bundle: true,
  platform: 'node',
  target: 'node22',
  format: 'cjs',
  minify: true,
  sourcemap: false,
  legalComments: 'none',
  logLevel: 'warning',
  // Handlers import their `sql/` files as text, so the bundle carries the exact query.
  loader: { '.sql': 'text', '.ctes': 'text' },
  // The ES module builds of the AWS SDK and zod tree-shake: about a third smaller than their CommonJS builds.
  mainFields: ['module', 'main'],
} as const satisfies BuildOptions;
