import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AWS_PROVIDER_VERSION,
  pluginMirror,
  synthesizeToTemp,
  type TerraformSetup,
  terraform,
  terraformOk,
  terraformSetup,
} from '../../rehearsal/terraform';
import { ROOT } from './synth';

// `terraform validate` runs the real hashicorp/aws provider's schema and validation over each
// synthesized stack: attribute names and types, enums such as the Lambda runtime, conflicts.
// One synth of the app is shared by every test; init links the provider from the mirror.
jest.setTimeout(180_000);

let work: string;
let setup: TerraformSetup;
let stacks: Record<string, string>;
let outdir: string;

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'agent-etl-validate-'));
  setup = terraformSetup(work, process.env);
  ({ stacks, outdir } = synthesizeToTemp(ROOT, {}));
});

afterAll(() => {
  rmSync(work, { recursive: true, force: true });
  rmSync(outdir, { recursive: true, force: true });
});

interface Validation {
  valid: boolean;
  error_count: number;
  diagnostics: { severity: string; summary: string; detail?: string }[];
}

async function validate(dir: string): Promise<Validation> {
  await terraformOk(['init', '-backend=false', '-input=false', '-no-color'], dir, setup.env);
  const result = await terraform(['validate', '-json', '-no-color'], dir, setup.env);
  return JSON.parse(result.stdout) as Validation;
}

test.each(['bootstrap', 'dev', 'prod'])('%s: the real AWS provider validates the stack', async (name) => {
  const dir = stacks[name];
  if (!dir) throw new Error(`no stack ${name} synthesized`);
  const result = await validate(dir);
  expect(result.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  expect(result.valid).toBe(true);
});

test('every stack pins the provider the bindings were generated for, exactly', () => {
  for (const dir of Object.values(stacks)) {
    const json = JSON.parse(readFileSync(join(dir, 'cdk.tf.json'), 'utf8')) as {
      terraform: { required_providers: { aws: { source: string; version: string } } };
    };
    expect(json.terraform.required_providers.aws).toEqual({ source: 'aws', version: AWS_PROVIDER_VERSION });
  }
});

test('the provider refuses what 5.100 does not know: a Lambda runtime newer than its list', async () => {
  const source = stacks.dev;
  if (!source) throw new Error('no dev stack');
  const copy = join(work, 'dev-nodejs24');
  cpSync(source, copy, { recursive: true, filter: (path) => !path.includes('.terraform') });
  const file = join(copy, 'cdk.tf.json');
  writeFileSync(file, readFileSync(file, 'utf8').replaceAll('"nodejs22.x"', '"nodejs24.x"'));
  const result = await validate(copy);
  expect(result.valid).toBe(false);
  expect(result.diagnostics.map((d) => `${d.summary} ${d.detail ?? ''}`).join('\n')).toMatch(/nodejs24\.x/);
});

describe('plugin mirror setting', () => {
  test('TF_PLUGIN_MIRROR naming a folder without the provider is refused, with the variable named', () => {
    expect(() => pluginMirror({ TF_PLUGIN_MIRROR: join(work, 'empty') })).toThrow(
      /TF_PLUGIN_MIRROR=".*empty" holds no registry\.terraform\.io\/hashicorp\/aws\/5\.100\.0/,
    );
  });

  test('a default folder holding the provider becomes the only install source', () => {
    const mirror = join(work, 'fake-mirror');
    mkdirSync(join(mirror, 'registry.terraform.io', 'hashicorp', 'aws', AWS_PROVIDER_VERSION), {
      recursive: true,
    });
    const dir = join(work, 'with-mirror');
    mkdirSync(dir);
    const config = terraformSetup(dir, {}, [join(work, 'absent'), mirror]);
    expect(config.mirror).toBe(mirror);
    const text = readFileSync(String(config.env.TF_CLI_CONFIG_FILE), 'utf8');
    expect(text).toContain(`filesystem_mirror {\n    path = ${JSON.stringify(mirror)}`);
    expect(text).not.toContain('plugin_cache_dir');
  });

  test('with no mirror anywhere, init uses the registry through one shared plugin cache', () => {
    const dir = join(work, 'no-mirror');
    mkdirSync(dir);
    const config = terraformSetup(dir, { TF_PLUGIN_MIRROR: '' }, [join(work, 'absent')]);
    expect(config.mirror).toBeUndefined();
    const text = readFileSync(String(config.env.TF_CLI_CONFIG_FILE), 'utf8');
    expect(text).toBe(`plugin_cache_dir = ${JSON.stringify(join(dir, 'plugin-cache'))}\n`);
  });
});
