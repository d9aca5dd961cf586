import * as z from 'zod';
import type { RunFailure } from './record';

/** What RecordFailedRun sends from the state machine's catch (workflow/definition.ts). */
const CaughtFailureSchema = z.object({
  run_id: z.string().min(1),
  execution_arn: z.string().optional(),
  started_at: z.string(),
  bucket: z.string(),
  key: z.string(),
  etag: z.string().optional(),
  state: z.string(),
  error: z.string(),
  cause: z.string().optional(),
  /** Set by the drain for a child that never started: record, then send the FAILED completion event. */
  notify: z.boolean().optional(),
});

/** The drain's request to undo a child that ended without success (workflow/drain-definition.ts). */
const RepairRequestSchema = z.object({ repair: z.object({ execution_arn: z.string().min(1) }) });

/** The execution ARN of a repair request, or undefined when the payload is something else. */
export function repairRequest(payload: unknown): string | undefined {
  const parsed = RepairRequestSchema.safeParse(payload);
  return parsed.success ? parsed.data.repair.execution_arn : undefined;
}

/** The execution to name in the FAILED completion event a caught-failure payload asks for, if any. */
export function notifyingExecution(payload: unknown): string | undefined {
  const parsed = CaughtFailureSchema.safeParse(payload);
  return parsed.success && parsed.data.notify === true ? (parsed.data.execution_arn ?? '') : undefined;
}

/** The caught failure in a RecordFailedRun payload, or undefined when the payload is something else. */
export function caughtFailure(payload: unknown): RunFailure | undefined {
  const parsed = CaughtFailureSchema.safeParse(payload);
  if (!parsed.success) return undefined;
  const f = parsed.data;
  return {
    runId: f.run_id,
    startedAt: f.started_at,
    bucket: f.bucket,
    key: f.key,
    etag: f.etag,
    state: f.state,
    error: f.error,
    cause: f.cause,
  };
}
