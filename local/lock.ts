import { accessSync, constants, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import lockfile from 'proper-lockfile';

export class LakeBusyError extends Error {
  override readonly name = 'LakeBusy';
}

/** Errors that say the lake cannot be written by this user: no command can change it, so a reader needs no lock. */
const READ_ONLY_CODES = new Set(['EROFS', 'EACCES', 'EPERM']);

/**
 * Holds the lake for one command: a second agent-etl on the same lake waits up to `waitSeconds`, then
 * fails with a clear message. A lock left by a killed process goes stale after 10 s and is taken over.
 * A `reader` on a lake it cannot write (a read-only mount, another user's files) works without the lock.
 */
export async function withLakeLock<T>(
  root: string,
  waitSeconds: number,
  work: () => Promise<T>,
  options: { reader?: boolean } = {},
): Promise<T> {
  const dir = resolve(root);
  const intervalMs = 250;
  let release: () => Promise<void>;
  try {
    mkdirSync(dir, { recursive: true });
    // Asked first: the lock's own retries would wait out --wait on a lake that can never be locked.
    accessSync(dir, constants.W_OK);
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
    const code = (error as { code?: string }).code ?? '';
    if (READ_ONLY_CODES.has(code)) {
      if (options.reader) return work();
      throw new Error(`lake ${dir} is not writable by this user (${code}); only export can read it as it is`);
    }
    if (code === 'ELOCKED') {
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
