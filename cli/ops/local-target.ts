import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import type { CompletionDetail } from '../../handlers/check-summary/events';
import { parseOperatingSchedule } from '../../handlers/coverage-check/schedule';
import { assertTimeZone } from '../../handlers/coverage-check/wall-clock';
import type { QueryEngine } from '../../handlers/ports';
import type { Lake } from '../../local/lake';
import {
  type ClosedRun,
  closeInterruptedRuns,
  fileEtag,
  LOCAL_BUCKET,
  objectKeyFor,
  runFile,
} from '../../local/runner';
import { StrictAthenaEngine } from '../../local/strict-twin';
import { checkAfterRun } from '../check/command';
import type { BronzeObject, ExecutionSummary, FileProblem, OpsTarget, Progress, Submission } from './target';

/**
 * The .csv entries under a folder, in name order; an entry that is not a readable file (a dangling link)
 * is a problem of its own, and a folder named x.csv is no object.
 */
function csvFilesUnder(dir: string): { files: string[]; problems: FileProblem[] } {
  const files: string[] = [];
  const problems: FileProblem[] = [];
  const names = readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((name) => name.toLowerCase().endsWith('.csv'))
    .sort();
  for (const name of names) {
    const path = join(dir, name);
    const stats = statSync(path, { throwIfNoEntry: false });
    if (stats?.isFile()) files.push(path);
    else if (!stats) problems.push({ label: path, reason: 'a symbolic link to nothing' });
    else if (!stats.isDirectory()) problems.push({ label: path, reason: 'not a regular file' });
  }
  return { files, problems };
}

/**
 * Runs that never finished, closed and undone before this command's runs (the lock admits one command
 * at a time, so no process is left to finish them): one warning each, so nothing is mistaken for loaded.
 */
export async function closeInterrupted(lake: Lake, stderr: (text: string) => void): Promise<ClosedRun[]> {
  const closed = await closeInterruptedRuns(lake);
  for (const run of closed) {
    stderr(
      `warning: run ${run.runId} of ${run.sourceObject} did not finish (interrupted); its row is now FAILED and what it merged was undone\n`,
    );
  }
  return closed;
}

export interface LocalTargetOptions {
  /** The lake directory as given on the command line (alerts are written below it). */
  readonly root: string;
  /** Run the coverage check after each run, as the completion event does in AWS. */
  readonly check: boolean;
  readonly timeZone: string | undefined;
  /** Where warnings go (runs found interrupted and closed). */
  readonly stderr: (text: string) => void;
}

/** The local lake, held by this command for its whole length (the caller holds the lake lock). */
export class LocalTarget implements OpsTarget {
  readonly kind = 'local';
  readonly description: string;
  readonly statusCommand: string;
  readonly timeZone: string;
  readonly schedule = parseOperatingSchedule(process.env.AGENT_ETL_OPERATING_SCHEDULE);

  /** The status queries go through the strict twin, as Athena would take them. */
  readonly engine: QueryEngine;

  constructor(
    readonly lake: Lake,
    private readonly options: LocalTargetOptions,
  ) {
    this.engine = new StrictAthenaEngine(lake);
    this.description = `lake ${lake.paths.root}`;
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

  async listSource(source: string): Promise<{
    objects: BronzeObject[];
    runPrefix: string;
    where: string;
    problems: FileProblem[];
  }> {
    const stats = statSync(source, { throwIfNoEntry: false });
    if (!stats) throw new Error(`${source}: no such file or directory`);
    const { files, problems } = stats.isDirectory()
      ? csvFilesUnder(source)
      : { files: [source], problems: [] as FileProblem[] };
    const objects: BronzeObject[] = [];
    for (const file of files) {
      try {
        objects.push({
          label: file,
          sourceObject: `${LOCAL_BUCKET}/${objectKeyFor(file)}`,
          name: stats.isDirectory() ? relative(source, file).split(sep).join('/') : file,
          etag: await fileEtag(file),
        });
      } catch (error) {
        problems.push({ label: file, reason: (error as Error).message });
      }
    }
    return { objects, runPrefix: `${LOCAL_BUCKET}/`, where: source, problems };
  }

  /** `bronze/<key>` is the file `<lake>/bronze/<key>`: the copy the object's runs read. */
  async resolveObject(sourceObject: string): Promise<BronzeObject> {
    const prefix = `${LOCAL_BUCKET}/`;
    const bronze = this.lake.paths.bronze;
    const file = resolve(bronze, sourceObject.slice(prefix.length));
    if (!sourceObject.startsWith(prefix) || !file.startsWith(`${bronze}${sep}`)) {
      throw new Error(
        `${sourceObject}: not an object of this lake (expected ${prefix}<key>, as status lists them)`,
      );
    }
    if (!existsSync(file)) throw new Error(`${sourceObject}: no such object (${file} is missing)`);
    return { label: file, sourceObject, name: sourceObject.slice(prefix.length), etag: await fileEtag(file) };
  }

  /**
   * Runs each object in turn, after closing the runs a killed command left unfinished. An object that
   * cannot run (its key is refused) is one problem; the objects after it still run.
   */
  async submit(objects: readonly BronzeObject[], progress: Progress): Promise<Submission> {
    const runs: { label: string; runId: string; status: 'SUCCEEDED' | 'FAILED'; error?: string }[] = [];
    const refused: FileProblem[] = [];
    const interrupted = await closeInterrupted(this.lake, this.options.stderr);
    for (const run of interrupted) await this.check(run.completion);
    progress.start(objects.length);
    try {
      for (const object of objects) {
        try {
          const run = await runFile(this.lake, object.label, {
            key: object.sourceObject.slice(`${LOCAL_BUCKET}/`.length),
          });
          await this.check(run.completion);
          runs.push({
            label: object.label,
            runId: run.runId,
            status: run.status,
            ...(run.error === undefined ? {} : { error: run.error.replace(`${run.sourceObject}: `, '') }),
          });
          progress.advance(object.label, run.status);
        } catch (error) {
          refused.push({ label: object.label, reason: (error as Error).message });
          progress.advance(object.label, 'REFUSED');
        }
      }
    } finally {
      progress.stop();
    }
    return { kind: 'ran', runs, refused };
  }

  async withdraw(sourceObject: string): Promise<{ runId: string; status: string; error?: string }> {
    await closeInterrupted(this.lake, this.options.stderr);
    const run = await runFile(this.lake, sourceObject, {
      key: sourceObject.slice(`${LOCAL_BUCKET}/`.length),
      withdraw: true,
    });
    await this.check(run.completion);
    return { runId: run.runId, status: run.status, ...(run.error === undefined ? {} : { error: run.error }) };
  }

  /** The run committed whatever the check finds; a check that fails is one line, and the next objects still run. */
  private async check(completion: CompletionDetail | undefined): Promise<void> {
    if (!this.options.check || !completion) return;
    const { failure } = await checkAfterRun(this.options.root, completion, this.lake);
    if (failure) {
      this.options.stderr(
        `error: the coverage check after run ${completion.run_id} failed (the run is committed): ${failure}\n`,
      );
    }
  }
}
