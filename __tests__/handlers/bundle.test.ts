import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { measureHandlers } from '../../bench/handlers';

const ROOT = resolve(__dirname, '..', '..');
const ONE_MIB = 1024 * 1024;

describe('the Lambda bundles', () => {
  it('are each under 1 MiB minified, load in a fresh process, and carry their SQL inside', async () => {
    const measures = await measureHandlers(ROOT, 1);
    expect(measures.map((m) => m.name)).toEqual(['check-summary', 'notify']);
    for (const measure of measures) {
      expect(measure.bundleBytes).toBeLessThan(ONE_MIB);
      expect(measure.coldLoadMs).toBeGreaterThan(0);
    }
    const checkSummary = readFileSync(join(ROOT, 'bench', 'out', 'check-summary.js'), 'utf8');
    expect(checkSummary).toContain('from agent_intervals');
    expect(checkSummary).toContain('from pipeline_runs');
  });
});
