import { type ChildProcess, type SpawnSyncReturns, spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import type { CommandIo } from '../../cli/ops/commands';

/** The command's entry point; the tests run what `npm run build` made, as a user would. */
export const BIN = join(__dirname, '..', '..', 'bin', 'agent-etl.js');

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface StartedCli {
  readonly child: ChildProcess;
  readonly done: Promise<CliResult>;
  /** What the command has printed so far. */
  output(): CliResult;
}

/** The command as a user runs it, with only the settings given (none of the caller's AGENT_ETL_*). */
export function startCli(
  args: readonly string[],
  env: Record<string, string> = {},
  cwd?: string,
): StartedCli {
  const base = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !name.startsWith('AGENT_ETL_')),
  );
  const child = spawn(process.execPath, [BIN, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...base, ...env },
    ...(cwd ? { cwd } : {}),
  });
  const result: CliResult = { code: null, signal: null, stdout: '', stderr: '' };
  child.stdout?.on('data', (chunk) => {
    result.stdout += chunk;
  });
  child.stderr?.on('data', (chunk) => {
    result.stderr += chunk;
  });
  const done = new Promise<CliResult>((resolve) =>
    child.on('close', (code, signal) => resolve({ ...result, code, signal })),
  );
  return { child, done, output: () => result };
}

/** Runs the command to its end. */
export const runCli = (args: readonly string[], env: Record<string, string> = {}, cwd?: string) =>
  startCli(args, env, cwd).done;

/**
 * Running as root with setpriv, the command can run as another user (nobody), for whom a root-owned lake
 * is read-only. That user keeps CAP_DAC_READ_SEARCH (read and traverse anything, write nothing;
 * capabilities(7)), so the checkout may live under a folder other users cannot enter (a clone in root's
 * home, a `mktemp -d`).
 */
export const canRunAsAnotherUser =
  process.getuid?.() === 0 && spawnSync('setpriv', ['--version']).status === 0;

export function runCliAsAnotherUser(args: readonly string[], cwd?: string): SpawnSyncReturns<string> {
  return spawnSync(
    'setpriv',
    [
      '--reuid=65534',
      '--regid=65534',
      '--clear-groups',
      '--inh-caps=+dac_read_search',
      '--ambient-caps=+dac_read_search',
      process.execPath,
      BIN,
      ...args,
    ],
    { encoding: 'utf8', ...(cwd ? { cwd } : {}) },
  );
}

/** A command's output, kept for the test to read. */
export function captureIo(): CommandIo & { out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return {
    out,
    err,
    stdout: (text) => void out.push(text),
    stderr: (text) => void err.push(text),
    tty: false,
  };
}
