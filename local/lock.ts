import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import lockfile from 'proper-lockfile';

export class LakeBusyError extends Error {
  override readonly name = 'LakeBusy';
}

/**
 * Holds the lake for one command: a second agent-etl on the same lake waits up to `waitSeconds`, then
 * fails with a clear message. A lock left by a killed process goes stale after 10 s and is taken over.
 */
export async function withLakeLock<T>(root: string, waitSeconds: number, work: () => Promise<T>): Promise<T> {
  const dir = resolve(root);
  mkdirSync(dir, { recursive: true });
  const intervalMs = 250;
  let release: () => Promise<void>;
  try {
    release = await lockfile.lock(dir, {
      lockfilePath: join(dir, '.lock'),
      stale: 10_000,
      update: 2_000,
      retries: {
        retries: Math.ceil((waitSeconds * 1000) / intervalMs),
        factor: 1,
        minTimeout: intervalMs,
        maxTimeout: intervalMs,
      },
    });
  } catch (error) {
    if ((error as { code?: string }).code === 'ELOCKED') {
      throw new LakeBusyError(
        `lake ${dir} is in use by another agent-etl command (waited ${waitSeconds} s); run again when it ends, or pass --wait`,
      );
    }
    throw error;
  }
  try {
    return await work();
  } finally {
    await release();
  }
}
