import * as z from 'zod';
import type { RunFailure } from './record';

/** What RecordFailedRun sends from the state machine's catch (workflow/definition.ts). */
const CaughtFailureSchema = z.object({
  run_id: z.string().min(1),
  started_at: z.string(),
  bucket: z.string(),
  key: z.string(),
  etag: z.string().optional(),
  state: z.string(),
  error: z.string(),
  cause: z.string().optional(),
});

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
