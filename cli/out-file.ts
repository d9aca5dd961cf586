import { createWriteStream, openSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';

/** A file being written, and how it ends: `commit` puts it in place, `abandon` leaves `out` as it was. */
export interface OutFile {
  readonly stream: NodeJS.WritableStream;
  commit(): Promise<void>;
  abandon(): void;
}

function endStream(stream: NodeJS.WritableStream): Promise<void> {
  return new Promise((done, fail) => {
    stream.once('error', fail);
    stream.end(() => done());
  });
}

/**
 * Opens `out` for a write that is all or nothing: a regular file (or a new one) is written beside it
 * under a hidden name and renamed over it only once everything is written, so a failed or killed
 * command leaves `out` as it was (rename(2) replaces the name atomically within one file system). What
 * is not a regular file (`/dev/stdout`, a pipe, a terminal) is written in place, as there is nothing to
 * replace. The file is opened at once, so a place that cannot be written is an error before any work.
 */
export function openOutFile(out: string): OutFile {
  const target = resolve(out);
  const existing = statSync(target, { throwIfNoEntry: false });
  if (existing && !existing.isFile()) {
    const stream = createWriteStream('', { fd: openSync(target, 'w') });
    // A failed write rejects the write that met it; the event itself needs no handler.
    stream.on('error', () => undefined);
    return { stream, commit: () => endStream(stream), abandon: () => stream.destroy() };
  }
  const partial = join(dirname(target), `.${basename(target)}.${process.pid}.partial`);
  const fd = openSync(partial, 'wx', existing ? existing.mode & 0o777 : 0o666);
  const stream = createWriteStream('', { fd, autoClose: true });
  stream.on('error', () => undefined);
  return {
    stream,
    commit: async () => {
      await endStream(stream);
      renameSync(partial, target);
    },
    abandon: () => {
      // The name goes at once; the descriptor closes with the stream.
      stream.destroy();
      rmSync(partial, { force: true });
    },
  };
}
