import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

/** A moto server (an AWS API emulator written by others) on 127.0.0.1, on a free port. */
export interface Emulator {
  /** `http://127.0.0.1:PORT`, or `https://…` when started with `https`. */
  readonly endpoint: string;
  /** Test credentials and region for SDK clients and the Terraform provider. */
  readonly env: Record<string, string>;
  stop(): Promise<void>;
}

export interface EmulatorOptions {
  /** Serve over TLS with moto's self-signed certificate (S3 TLS-only bucket policies need it). */
  https?: boolean;
  /** Extra environment for the server, e.g. `MOTO_ACCOUNT_ID` (moto answers as 123456789012 otherwise). */
  env?: Readonly<Record<string, string>>;
}

// Beside this file when run from source; under emulator/ when bundled into dist/.
const LAUNCHER = [
  join(__dirname, 'launch_moto.py'),
  join(__dirname, '..', 'emulator', 'launch_moto.py'),
].find(existsSync);

export async function startEmulator(options: EmulatorOptions = {}): Promise<Emulator> {
  if (!LAUNCHER) throw new Error('emulator/launch_moto.py not found');
  const args = [LAUNCHER, '-p', '0', ...(options.https ? ['-s'] : [])];
  const child = spawn(process.env.AGENT_ETL_PYTHON ?? 'python3', args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...options.env, PYTHONUNBUFFERED: '1' },
  });
  const endpoint = await waitForEndpoint(child);
  return {
    endpoint,
    env: {
      AWS_ACCESS_KEY_ID: 'testing',
      AWS_SECRET_ACCESS_KEY: 'testing',
      AWS_REGION: 'us-east-1',
      AWS_DEFAULT_REGION: 'us-east-1',
      AWS_ENDPOINT_URL: endpoint,
    },
    stop: () => stopChild(child),
  };
}

function waitForEndpoint(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let output = '';
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /Running on (https?:\/\/127\.0\.0\.1:\d+)/.exec(output);
      if (match) {
        child.stdout?.off('data', onData);
        child.stderr?.off('data', onData);
        child.stdout?.resume();
        child.stderr?.resume();
        resolve(match[1] as string);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('error', (error) =>
      reject(new Error(`moto could not start: ${error.message} (is moto[server] installed?)`)),
    );
    child.once('exit', (code) =>
      reject(new Error(`moto exited with code ${code} before listening:\n${output}`)),
    );
  });
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}
