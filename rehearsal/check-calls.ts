import { existsSync, readFileSync } from 'node:fs';
import {
  type CallContext,
  completeBodies,
  evaluate,
  iamRequests,
  keyTagsOf,
  parseTerraformLog,
  type RecordedCall,
  roleBoundariesOf,
  type Verdict,
} from './calls';

/** One Terraform run whose calls a CI role must be allowed to make. */
export interface RunToCheck {
  /** e.g. `dev apply`. */
  readonly label: string;
  readonly log: string;
  /** The role policy (an IAM policy document, resolved). */
  readonly policy: Record<string, unknown>;
  readonly role: string;
  /** The policy of the stack's KMS key, when it has one. */
  readonly keyPolicy?: Record<string, unknown>;
  /** The stack's Athena workgroup (named queries are authorized on it). */
  readonly workgroup?: string;
}

export interface RunVerdict {
  readonly label: string;
  readonly role: string;
  readonly calls: number;
  readonly requests: number;
  readonly denied: readonly Verdict[];
}

/**
 * Evaluates every AWS call of each run against the role that makes it in CI. Key tags are learned
 * from every run's CreateKey calls first (a plan refreshes keys an earlier apply created).
 */
export async function checkRuns(
  runs: readonly RunToCheck[],
  options: { accountId: string; region: string; recording: string },
): Promise<RunVerdict[]> {
  const { accountId, region } = options;
  const parsed = new Map<string, RecordedCall[]>();
  for (const run of runs) {
    if (!existsSync(run.log)) throw new Error(`${run.label}: no log ${run.log}`);
    const calls = parseTerraformLog(readFileSync(run.log, 'utf8'));
    completeBodies(calls, options.recording);
    parsed.set(run.log, calls);
  }
  const keyTags = keyTagsOf([...parsed.values()].flat());
  const roleBoundaries = roleBoundariesOf([...parsed.values()].flat());
  const verdicts: RunVerdict[] = [];
  for (const run of runs) {
    const calls = parsed.get(run.log) ?? [];
    const context: CallContext = { accountId, region, keyTags, roleBoundaries, workgroup: run.workgroup };
    const requests = (await Promise.all(calls.map((call) => iamRequests(call, context)))).flat();
    const results = await evaluate(requests, run.policy, { accountId, keyPolicy: run.keyPolicy });
    verdicts.push({
      label: run.label,
      role: run.role,
      calls: calls.length,
      requests: requests.length,
      denied: results.filter((verdict) => verdict.decision !== 'Allowed'),
    });
  }
  return verdicts;
}

/** `action resource {context}: decision (call)`, one line per denied request, each distinct once. */
export function describeDenied(denied: readonly Verdict[]): string[] {
  return [
    ...new Set(
      denied.map(
        ({ request, decision }) =>
          `${request.action} ${request.resource}${Object.keys(request.context).length ? ` ${JSON.stringify(request.context)}` : ''}: ${decision} (${request.call})`,
      ),
    ),
  ];
}
