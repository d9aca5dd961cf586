import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GLUE_JOB_ARGUMENTS } from '../../workflow/definition';
import { AGENT_EVENTS, REJECTED_ROWS } from '../../workflow/tables';
import { ROOT, resourceNamed, synthPipeline } from '../stacks/synth';

const SCRIPT = join(ROOT, 'glue-scripts', 'csv_to_parquet.py');

/** Top-level list and string constants of the script, read with Python's own parser (the script imports Glue, so it cannot be imported here). */
function scriptConstants(): Record<string, string[]> & { PARTITION_COLUMN?: string } {
  const program = [
    'import ast, json, sys',
    'tree = ast.parse(open(sys.argv[1]).read())',
    'print(json.dumps({t.id: ast.literal_eval(n.value) for n in tree.body if isinstance(n, ast.Assign)',
    '  for t in n.targets if isinstance(t, ast.Name) and isinstance(n.value, (ast.List, ast.Constant))}))',
  ].join('\n');
  return JSON.parse(execFileSync('python3', ['-c', program, SCRIPT], { encoding: 'utf8' }));
}

const lists = scriptConstants();
const job = resourceNamed(synthPipeline(), 'aws_glue_job', 'loadJob')[1];
/** Arguments Glue itself reads (they start with `--enable-`, `--job-`, `--continuous-`, `--custom-`). */
const isGlueSetting = (name: string) => /^--(enable-|job-|continuous-|custom-)/.test(name);

describe('glue-scripts/csv_to_parquet.py', () => {
  test('compiles', () => {
    const cache = mkdtempSync(join(tmpdir(), 'pyc-'));
    expect(() =>
      execFileSync('python3', ['-m', 'py_compile', SCRIPT], {
        env: { ...process.env, PYTHONPYCACHEPREFIX: cache },
      }),
    ).not.toThrow();
  });

  test('reads exactly the arguments the state machine passes', () => {
    expect(lists.RUN_ARGUMENTS?.map((name) => `--${name}`)).toEqual([...GLUE_JOB_ARGUMENTS]);
  });

  test('reads exactly the settings the stack puts in default_arguments, and nothing is left unread', () => {
    const settings = Object.keys(job.default_arguments as Record<string, string>).filter(
      (name) => !isGlueSetting(name),
    );
    expect(lists.JOB_SETTINGS?.map((name) => `--${name}`).sort()).toEqual(settings.sort());
  });

  test('writes the columns of workflow/tables.ts, in order', () => {
    expect(lists.EVENT_COLUMNS).toEqual(AGENT_EVENTS.columns.map((column) => column.name));
    expect(lists.REJECT_COLUMNS).toEqual(REJECTED_ROWS.columns.map((column) => column.name));
    expect(lists.PARTITION_COLUMN).toBe(AGENT_EVENTS.partitionKeys[0]?.name);
  });
});
