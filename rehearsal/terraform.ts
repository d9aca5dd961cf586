import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { synthesizeApp } from '../stacks/app';

/** Where this machine kind keeps its filesystem mirror of providers (docs/deploy.md, "Provider version"). */
export const DEFAULT_PLUGIN_MIRRORS = [
  '/opt/tf-plugins',
  '/usr/share/terraform/plugins',
  '/usr/local/share/terraform/plugins',
];

/** The provider the bindings were generated for; `required_providers` pins exactly this version. */
export const AWS_PROVIDER_VERSION = '5.100.0';

/** A mirror root holds `registry.terraform.io/hashicorp/aws/<version>/...` (Terraform CLI config, `filesystem_mirror`). */
const hasAwsProvider = (root: string) =>
  existsSync(join(root, 'registry.terraform.io', 'hashicorp', 'aws', AWS_PROVIDER_VERSION));

/**
 * The filesystem mirror to install providers from: `TF_PLUGIN_MIRROR` when set (it must hold the AWS
 * provider), else the first default that does, else none (plain `terraform init` from the registry).
 */
export function pluginMirror(
  env: Readonly<Record<string, string | undefined>>,
  defaults: readonly string[] = DEFAULT_PLUGIN_MIRRORS,
): string | undefined {
  const configured = env.TF_PLUGIN_MIRROR?.trim();
  if (configured) {
    if (!hasAwsProvider(configured)) {
      throw new Error(
        `TF_PLUGIN_MIRROR="${configured}" holds no registry.terraform.io/hashicorp/aws/${AWS_PROVIDER_VERSION}`,
      );
    }
    return configured;
  }
  return defaults.find(hasAwsProvider);
}

/** The environment every Terraform command of the tests and the rehearsal runs with. */
export interface TerraformSetup {
  readonly env: Record<string, string>;
  /** The mirror providers come from, or undefined when `terraform init` downloads them. */
  readonly mirror: string | undefined;
}

/**
 * Writes a Terraform CLI config into `dir` and returns the environment naming it (`TF_CLI_CONFIG_FILE`).
 * With a mirror, providers are installed from it only (init works offline, nothing is copied: Terraform
 * links an unpacked mirror). Without one, the registry is used with a plugin cache shared by every
 * stack, so the 600 MB provider is downloaded once per run.
 * (https://developer.hashicorp.com/terraform/cli/config/config-file, "Provider Installation")
 */
export function terraformSetup(
  dir: string,
  env: Readonly<Record<string, string | undefined>>,
  defaults: readonly string[] = DEFAULT_PLUGIN_MIRRORS,
): TerraformSetup {
  const mirror = pluginMirror(env, defaults);
  const cache = join(dir, 'plugin-cache');
  mkdirSync(cache, { recursive: true });
  const config = mirror
    ? `provider_installation {\n  filesystem_mirror {\n    path = ${JSON.stringify(mirror)}\n  }\n}\n`
    : `plugin_cache_dir = ${JSON.stringify(cache)}\n`;
  const file = join(dir, 'terraform.tfrc');
  writeFileSync(file, config);
  return {
    mirror,
    env: {
      TF_CLI_CONFIG_FILE: file,
      TF_IN_AUTOMATION: '1',
      TF_INPUT: '0',
      CHECKPOINT_DISABLE: '1',
    },
  };
}

export interface CommandResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `terraform <args>` in `cwd`; resolves with its exit code (a plan's `-detailed-exitcode` 2 is not an error). */
export function terraform(
  args: readonly string[],
  cwd: string,
  env: Readonly<Record<string, string | undefined>>,
): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    execFile(
      process.env.TERRAFORM_BIN ?? 'terraform',
      [`-chdir=${cwd}`, ...args],
      { env: { ...process.env, ...env }, maxBuffer: 256 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error && typeof error.code !== 'number') {
          reject(new Error(`terraform could not run (${error.message}); install Terraform 1.11`));
          return;
        }
        resolve({ code: error ? Number(error.code) : 0, stdout, stderr });
      },
    );
  });
}

/** Like `terraform`, but any exit code other than 0 (or those in `accept`) is an error carrying its output. */
export async function terraformOk(
  args: readonly string[],
  cwd: string,
  env: Readonly<Record<string, string | undefined>>,
  accept: readonly number[] = [0],
): Promise<CommandResult> {
  const result = await terraform(args, cwd, env);
  if (!accept.includes(result.code)) {
    throw new Error(
      `terraform ${args.join(' ')} in ${cwd} exited ${result.code}:\n${result.stderr.slice(-4000)}${result.stdout.slice(-4000)}`,
    );
  }
  return result;
}

/** Synthesizes every stack into a fresh temporary folder; returns `stack name -> its folder`. */
export function synthesizeToTemp(
  projectRoot: string,
  env: Readonly<Record<string, string | undefined>>,
): { outdir: string; stacks: Record<string, string> } {
  const outdir = mkdtempSync(join(tmpdir(), 'agent-etl-synth-'));
  synthesizeApp({ projectRoot, env, outdir });
  const manifest = JSON.parse(readFileSync(join(outdir, 'manifest.json'), 'utf8')) as {
    stacks: Record<string, { workingDirectory: string }>;
  };
  const stacks = Object.fromEntries(
    Object.entries(manifest.stacks).map(([name, stack]) => [name, join(outdir, stack.workingDirectory)]),
  );
  return { outdir, stacks };
}

/** Resources a synthesized stack declares (every `resource` block; data sources are not in state as resources). */
export function synthesizedResourceCount(stackDir: string): number {
  const json = JSON.parse(readFileSync(join(stackDir, 'cdk.tf.json'), 'utf8')) as {
    resource?: Record<string, Record<string, unknown>>;
  };
  return Object.values(json.resource ?? {}).reduce((sum, byName) => sum + Object.keys(byName).length, 0);
}
