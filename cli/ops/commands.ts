import { SingleBar } from 'cli-progress';
import { planBackfill } from './backfill-order';
import { type LatestRun, latestRuns } from './queries';
import { collectStatus, formatStatus, MAX_STATUS_DAYS, needsRerun, statusJson } from './status';
import type { BronzeObject, FileProblem, OpsTarget, Progress, Submission } from './target';

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
  for (const problem of submission.refused) io.stderr(`error: ${problem.label}: ${problem.reason}\n`);
  const refused = submission.refused.length > 0 ? `, ${submission.refused.length} refused before a run` : '';
  return {
    line: `${plural(submission.runs.length, 'run')}: ${submission.runs.length - failed.length} succeeded, ${failed.length} failed${refused}, in ${seconds.toFixed(1)} s`,
    exitCode: failed.length > 0 || submission.refused.length > 0 ? 3 : 0,
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
  const objects: BronzeObject[] = [];
  const lost: FileProblem[] = [];
  for (const name of sourceObjects) {
    try {
      objects.push(await target.resolveObject(name));
    } catch (error) {
      // Named objects are all checked before anything runs: a typo must not leave half the list done.
      // With --failed each object stands alone: one lost copy must not keep the others from running.
      if (!options.failed) throw error;
      lost.push({ label: name, reason: (error as Error).message.replace(`${name}: `, '') });
    }
  }
  for (const problem of lost) {
    const clear =
      target.kind === 'local'
        ? `; put the file back with \`agent-etl run FILE --key ${problem.label.slice(problem.label.indexOf('/') + 1)}\`, or withdraw the object with \`agent-etl forget ${problem.label}\``
        : '';
    io.stderr(`error: ${problem.label}: ${problem.reason}${clear}\n`);
  }
  const lostLine = lost.length > 0 ? `; ${plural(lost.length, 'object')} not found, not rerun` : '';
  if (objects.length === 0) {
    io.stdout(`agent-etl rerun: no run${lostLine}\n`);
    return 3;
  }
  const { line, exitCode } = await submitTimed(target, objects, io);
  io.stdout(`agent-etl rerun: ${line}${lostLine}\n${followUp(target)}`);
  return lost.length > 0 ? 3 : exitCode;
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
  const { objects, runPrefix, where, problems = [] } = await target.listSource(source);
  // An entry that cannot be read is named now; the others still run.
  for (const problem of problems) io.stderr(`error: ${problem.label}: ${problem.reason}\n`);
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
    ...(problems.length > 0 ? [`${problems.length} that cannot be read`] : []),
  ];
  const problemCode = problems.length > 0 ? 3 : 0;
  const leftOutLine = leftOut.length > 0 ? `  left out: ${leftOut.join(', ')}\n` : '';
  if (pending.length === 0) {
    io.stdout(`${header}; nothing to do\n${leftOutLine}`);
    return problemCode;
  }
  const { line, exitCode } = await submitTimed(target, pending, io);
  io.stdout(`${header}, ${line}\n${leftOutLine}${followUp(target)}`);
  return exitCode === 0 ? problemCode : exitCode;
}

/**
 * `forget OBJECT...`: withdraws objects whose bronze copy is lost, so that `rerun --failed` and `status`
 * stop asking for them. Each must be an object of the lake whose copy is missing; all are checked
 * before any is withdrawn.
 */
export async function forgetCommand(
  target: OpsTarget,
  names: readonly string[],
  io: CommandIo,
): Promise<0 | 3> {
  if (!target.withdraw) {
    throw new Error('forget acts on the local lake only; in AWS, upload the object again to its key');
  }
  const known = new Set((await latestRuns(target.engine, '')).map((run) => run.sourceObject));
  for (const name of names) {
    if (!known.has(name)) throw new Error(`${name}: no run of this object in the lake`);
    const present = await target.resolveObject(name).then(
      () => true,
      () => false,
    );
    if (present) {
      throw new Error(`${name}: its bronze copy is there; run it again with agent-etl rerun ${name}`);
    }
  }
  let exitCode: 0 | 3 = 0;
  for (const name of names) {
    const run = await target.withdraw(name);
    if (run.status === 'SUCCEEDED') io.stdout(`agent-etl forget: ${name} withdrawn (run ${run.runId})\n`);
    else {
      io.stderr(`error: ${name}: ${run.error ?? 'failed'}\n`);
      exitCode = 3;
    }
  }
  return exitCode;
}
