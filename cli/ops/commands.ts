import { SingleBar } from 'cli-progress';
import { planBackfill } from './backfill-order';
import { type LatestRun, latestRuns } from './queries';
import { collectStatus, formatStatus, MAX_STATUS_DAYS, needsRerun, statusJson } from './status';
import type { BronzeObject, OpsTarget, Progress, Submission } from './target';

/** Where a command writes; the CLI passes the process streams, tests their own. */
export interface CommandIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  /** Whether stderr is a terminal: a progress bar then, a line per object otherwise. */
  readonly tty: boolean;
}

export const processIo = (): CommandIo => ({
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  tty: process.stderr.isTTY === true,
});

function progressFor(io: CommandIo): Progress {
  if (io.tty) {
    const bar = new SingleBar({
      format: '{bar} {value}/{total} | {object} | {state}',
      stream: process.stderr,
      hideCursor: true,
      clearOnComplete: true,
    });
    return {
      start: (total) => bar.start(total, 0, { object: '', state: '' }),
      advance: (object, state) => bar.increment({ object, state }),
      stop: () => bar.stop(),
    };
  }
  let done = 0;
  let total = 0;
  return {
    start: (count) => {
      total = count;
    },
    advance: (object, state) => {
      done += 1;
      io.stderr(`[${done}/${total}] ${object}: ${state}\n`);
    },
    stop: () => undefined,
  };
}

const plural = (n: number, word: string) => `${n.toLocaleString('en-US')} ${word}${n === 1 ? '' : 's'}`;

/** The outcome lines of a submission; exit 3 when a run failed. */
function reportSubmission(
  submission: Submission,
  target: OpsTarget,
  seconds: number,
  io: CommandIo,
): { line: string; exitCode: 0 | 3 } {
  if (submission.kind === 'queued') {
    return {
      line: `${plural(submission.queued, 'object')} queued for ${target.description}; drain execution ${submission.drainExecutionArn}`,
      exitCode: 0,
    };
  }
  const failed = submission.runs.filter((run) => run.status === 'FAILED');
  for (const run of failed) io.stderr(`error: ${run.label}: ${run.error ?? 'failed'}\n`);
  return {
    line: `${plural(submission.runs.length, 'run')}: ${submission.runs.length - failed.length} succeeded, ${failed.length} failed, in ${seconds.toFixed(1)} s`,
    exitCode: failed.length > 0 ? 3 : 0,
  };
}

async function submitTimed(target: OpsTarget, objects: readonly BronzeObject[], io: CommandIo) {
  const started = process.hrtime.bigint();
  const submission = await target.submit(objects, progressFor(io));
  return reportSubmission(submission, target, Number(process.hrtime.bigint() - started) / 1e9, io);
}

const followUp = (target: OpsTarget) =>
  target.kind === 'local' ? '' : `  follow the runs with: ${target.statusCommand}\n`;

export async function statusCommand(
  target: OpsTarget,
  options: { days: number; until?: string; json: boolean; now?: Date },
  io: CommandIo,
): Promise<0 | 3> {
  if (!Number.isSafeInteger(options.days) || options.days < 1 || options.days > MAX_STATUS_DAYS)
    throw new Error(
      `--days ${options.days}: expected a whole number of days from 1 to ${MAX_STATUS_DAYS} (agent-etl export runs lists every run)`,
    );
  const report = await collectStatus(target, {
    days: options.days,
    until: options.until,
    now: options.now ?? new Date(),
  });
  io.stdout(options.json ? statusJson(report) : formatStatus(report));
  return report.exitCode;
}

/** `rerun OBJECT...` or `rerun --failed`: the current version of each object, through the normal path. */
export async function rerunCommand(
  target: OpsTarget,
  names: readonly string[],
  options: { failed: boolean },
  io: CommandIo,
): Promise<0 | 3> {
  if (options.failed === names.length > 0) throw new Error('give objects to rerun, or --failed, not both');
  let sourceObjects = [...names];
  if (options.failed) {
    const running = await target.runningExecutions();
    sourceObjects = (await latestRuns(target.engine, ''))
      .filter((object) => needsRerun(object, running))
      .map((object) => object.sourceObject);
    if (sourceObjects.length === 0) {
      io.stdout('agent-etl rerun: no object whose latest run failed or did not finish\n');
      return 0;
    }
  }
  // Every name is checked before anything runs: a typo must not leave half the list done.
  const objects: BronzeObject[] = [];
  for (const name of sourceObjects) objects.push(await target.resolveObject(name));
  const { line, exitCode } = await submitTimed(target, objects, io);
  io.stdout(`agent-etl rerun: ${line}\n${followUp(target)}`);
  return exitCode;
}

/**
 * Whether the object's current version already succeeded: the ETag (locally the MD5 hex) of the
 * latest successful run of that object is this version's.
 */
export function alreadyLoaded(object: BronzeObject, latest: readonly LatestRun[]): boolean {
  return latest.some((run) => run.sourceObject === object.sourceObject && run.succeededEtag === object.etag);
}

export async function backfillCommand(
  target: OpsTarget,
  source: string,
  options: { since?: string; until?: string },
  io: CommandIo,
): Promise<0 | 3> {
  if (options.since !== undefined && options.until !== undefined && options.since > options.until) {
    throw new Error(`--since ${options.since} is after --until ${options.until}`);
  }
  const { objects, runPrefix, where } = await target.listSource(source);
  const plan = planBackfill(objects, options.since, options.until);
  const latest = await latestRuns(target.engine, runPrefix);
  const pending = plan.ordered.filter((object) => !alreadyLoaded(object, latest));
  const skipped = plan.ordered.length - pending.length;
  const header = `agent-etl backfill: ${plural(objects.length, 'object')} under ${where}, ${skipped} already loaded (same ${
    target.kind === 'local' ? 'content' : 'ETag'
  })`;
  const leftOut = [
    ...(plan.outsideRange > 0 ? [`${plan.outsideRange} dated outside --since/--until`] : []),
    ...(plan.undatedLeftOut > 0 ? [`${plan.undatedLeftOut} without a date in the name`] : []),
  ];
  const leftOutLine = leftOut.length > 0 ? `  left out: ${leftOut.join(', ')}\n` : '';
  if (pending.length === 0) {
    io.stdout(`${header}; nothing to do\n${leftOutLine}`);
    return 0;
  }
  const { line, exitCode } = await submitTimed(target, pending, io);
  io.stdout(`${header}, ${line}\n${leftOutLine}${followUp(target)}`);
  return exitCode;
}
