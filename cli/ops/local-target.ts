import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import { parseOperatingSchedule } from '../../handlers/coverage-check/schedule';
import { assertTimeZone } from '../../handlers/coverage-check/wall-clock';
import type { Lake } from '../../local/lake';
import { fileEtag, LOCAL_BUCKET, objectKeyFor, runFile } from '../../local/runner';
import { checkAfterRun } from '../check/command';
import type { BronzeObject, ExecutionSummary, OpsTarget, Progress, Submission } from './target';

/** MD5 hex of a file's bytes: the ETag S3 gives a single-part upload, and what local runs record. */

function csvFilesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((name) => name.toLowerCase().endsWith('.csv') && statSync(join(dir, name)).isFile())
    .sort()
    .map((name) => join(dir, name));
}

export interface LocalTargetOptions {
  /** The lake directory as given on the command line (alerts are written below it). */
  readonly root: string;
  /** Run the coverage check after each run, as the completion event does in AWS. */
  readonly check: boolean;
  readonly timeZone: string | undefined;
}

/** The local lake, held by this command for its whole length (the caller holds the lake lock). */
export class LocalTarget implements OpsTarget {
  readonly kind = 'local';
  readonly description: string;
  readonly statusCommand: string;
  readonly timeZone: string;
  readonly schedule = parseOperatingSchedule(process.env.AGENT_ETL_OPERATING_SCHEDULE);

  constructor(
    readonly engine: Lake,
    private readonly options: LocalTargetOptions,
  ) {
    this.description = `lake ${engine.paths.root}`;
    this.statusCommand = `agent-etl status --lake ${options.root}`;
    this.timeZone = options.timeZone ?? process.env.AGENT_ETL_TIMEZONE ?? 'UTC';
    assertTimeZone(this.timeZone);
  }

  async executions(): Promise<ExecutionSummary[] | undefined> {
    return undefined;
  }

  async runningExecutions(): Promise<Set<string>> {
    return new Set();
  }

  async listSource(source: string): Promise<{ objects: BronzeObject[]; runPrefix: string; where: string }> {
    const stats = statSync(source, { throwIfNoEntry: false });
    if (!stats) throw new Error(`${source}: no such file or directory`);
    const files = stats.isDirectory() ? csvFilesUnder(source) : [source];
    const objects: BronzeObject[] = [];
    for (const file of files) {
      objects.push({
        label: file,
        sourceObject: `${LOCAL_BUCKET}/${objectKeyFor(file)}`,
        name: stats.isDirectory() ? relative(source, file).split(sep).join('/') : file,
        etag: await fileEtag(file),
      });
    }
    return { objects, runPrefix: `${LOCAL_BUCKET}/`, where: source };
  }

  /** `bronze/<key>` is the file `<lake>/bronze/<key>`: the copy the object's runs read. */
  async resolveObject(sourceObject: string): Promise<BronzeObject> {
    const prefix = `${LOCAL_BUCKET}/`;
    const bronze = this.engine.paths.bronze;
    const file = resolve(bronze, sourceObject.slice(prefix.length));
    if (!sourceObject.startsWith(prefix) || !file.startsWith(`${bronze}${sep}`)) {
      throw new Error(
        `${sourceObject}: not an object of this lake (expected ${prefix}<key>, as status lists them)`,
      );
    }
    if (!existsSync(file)) throw new Error(`${sourceObject}: no such object (${file} is missing)`);
    return { label: file, sourceObject, name: sourceObject.slice(prefix.length), etag: await fileEtag(file) };
  }

  async submit(objects: readonly BronzeObject[], progress: Progress): Promise<Submission> {
    const runs: { label: string; runId: string; status: 'SUCCEEDED' | 'FAILED'; error?: string }[] = [];
    progress.start(objects.length);
    try {
      for (const object of objects) {
        const run = await runFile(this.engine, object.label, {
          key: object.sourceObject.slice(`${LOCAL_BUCKET}/`.length),
        });
        if (this.options.check && run.completion) {
          const { failure } = await checkAfterRun(this.options.root, run.completion, this.engine);
          // The run committed; the next objects still run. Said where the check's own warnings go.
          if (failure)
            process.stderr.write(
              `error: the coverage check after run ${run.runId} failed (the run is committed): ${failure}\n`,
            );
        }
        runs.push({
          label: object.label,
          runId: run.runId,
          status: run.status,
          ...(run.error === undefined ? {} : { error: run.error.replace(`${run.sourceObject}: `, '') }),
        });
        progress.advance(object.label, run.status);
      }
    } finally {
      progress.stop();
    }
    return { kind: 'ran', runs };
  }
}
