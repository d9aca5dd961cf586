import type { OperatingSchedule } from '../../handlers/coverage-check/schedule';
import type { QueryEngine } from '../../handlers/ports';

/** Where `--aws` reads the stack outputs unless `--outputs` says otherwise. */
export const DEFAULT_OUTPUTS_FILE = 'cdktf-outputs.json';

/** One bronze object as the operations commands handle it: to run (locally) or to queue (in AWS). */
export interface BronzeObject {
  /** What the operator reads and what is run: a file path locally, `s3://bucket/key` in AWS. */
  readonly label: string;
  /** `bucket/key` as `pipeline_runs.source_object` holds it. */
  readonly sourceObject: string;
  /** Where the date is read from and ties are ordered by: the path below SOURCE, or the key. */
  readonly name: string;
  /** The S3 ETag; locally the MD5 hex of the bytes, which is what S3 gives a single-part upload. */
  readonly etag: string;
}

/** A file of a command that could not be handled, and why; the other files still are. */
export interface FileProblem {
  readonly label: string;
  readonly reason: string;
}

/** A pipeline execution, as Step Functions lists it. */
export interface ExecutionSummary {
  /** The execution name: `pipeline_runs.run_id`. */
  readonly name: string;
  readonly status: string;
  /** ISO 8601, UTC. */
  readonly startedAt: string;
}

/** Per object, how a run went: locally the runs happen here; in AWS they are queued for the drain. */
export type Submission =
  | {
      readonly kind: 'ran';
      readonly runs: readonly {
        readonly label: string;
        readonly runId: string;
        readonly status: 'SUCCEEDED' | 'FAILED';
        readonly error?: string;
      }[];
      /** Files that never became a run (no valid object key, say): one error each, the others still ran. */
      readonly refused: readonly FileProblem[];
    }
  | { readonly kind: 'queued'; readonly queued: number; readonly drainExecutionArn: string };

/** Reports each object as it is handled; a bar on a terminal, a line per object otherwise. */
export interface Progress {
  start(total: number): void;
  advance(label: string, state: string): void;
  stop(): void;
}

/**
 * Where the operations commands act: the local lake or a deployed environment. Both answer the same
 * `sql/ops` and `sql/coverage` statements through the QueryEngine port.
 */
export interface OpsTarget {
  readonly kind: 'local' | 'aws';
  /** For headers: `lake /path` or `dev (eu-west-1)`. */
  readonly description: string;
  /** The status command for this target, to follow what was started. */
  readonly statusCommand: string;
  readonly engine: QueryEngine;
  readonly timeZone: string;
  readonly schedule: OperatingSchedule | undefined;
  /** Pipeline executions started since `since`; undefined where runs are not executions (locally). */
  executions(since: Date): Promise<ExecutionSummary[] | undefined>;
  /** Names of the pipeline executions running now (locally none: a run holds the lake, as this command does). */
  runningExecutions(): Promise<Set<string>>;
  /**
   * Every .csv object under SOURCE, and the `source_object` prefix their runs are recorded under;
   * `problems` are entries that cannot be read (a dangling link), each named, the others listed.
   */
  listSource(source: string): Promise<{
    objects: BronzeObject[];
    runPrefix: string;
    where: string;
    problems?: readonly FileProblem[];
  }>;
  /** The current version of an object named `bucket/key`, as `status` prints it. */
  resolveObject(sourceObject: string): Promise<BronzeObject>;
  /** Runs (locally) or queues (AWS) the objects, in the order given, one at a time. */
  submit(objects: readonly BronzeObject[], progress: Progress): Promise<Submission>;
  /**
   * Withdraws an object whose bronze copy is lost (`bucket/key`): a run that loads nothing, so none of
   * its rows count and its windows are recomputed without it. Local only.
   */
  withdraw?(
    sourceObject: string,
  ): Promise<{ readonly runId: string; readonly status: string; readonly error?: string }>;
}
