import * as z from 'zod';
import { COMPLETION_EVENT } from '../../workflow/definition';

/** The detail of `Pipeline Run Completed`, as the state machine emits it (workflow/definition.ts). */
export const CompletionDetailSchema = z.object({
  status: z.enum(['SUCCEEDED', 'FAILED']),
  run_id: z.string().min(1),
  execution_arn: z.string(),
  started_at: z.string(),
  bucket: z.string(),
  key: z.string(),
  error: z.string().optional(),
  cause: z.string().optional(),
});

export type CompletionDetail = z.infer<typeof CompletionDetailSchema>;

/**
 * The EventBridge envelope, the fields this handler reads. (Powertools' parser schemas would do, but
 * they import all of zod, locales included, which doubles the bundle; `import * as z` tree-shakes.)
 */
const EventBridgeSchema = z.object({
  id: z.string(),
  source: z.string(),
  'detail-type': z.string(),
  time: z.string(),
  detail: z.unknown(),
});

const CompletionEventSchema = EventBridgeSchema.extend({
  source: z.literal(COMPLETION_EVENT.source),
  'detail-type': z.literal(COMPLETION_EVENT.detailType),
  detail: CompletionDetailSchema,
}).transform((event) => ({ kind: 'completion' as const, detail: event.detail }));

/** An EventBridge rule on a cron expression: checks yesterday. */
const ScheduledRuleEventSchema = EventBridgeSchema.extend({
  source: z.literal('aws.events'),
  'detail-type': z.literal('Scheduled Event'),
}).transform(() => ({ kind: 'daily' as const, day: undefined, end: undefined }));

/**
 * EventBridge Scheduler's target input: `{"check": "daily"}` checks yesterday; `day` (YYYY-MM-DD) or
 * `end` (YYYY-MM-DD HH:MM:SS) check another window, for a manual re-check.
 */
const SchedulerInputSchema = z
  .object({
    check: z.literal('daily'),
    day: z.string().optional(),
    end: z.string().optional(),
  })
  .strict()
  .refine((input) => !(input.day && input.end), 'give day or end, not both')
  .transform((input) => ({ kind: 'daily' as const, day: input.day, end: input.end }));

export const CheckSummaryEventSchema = z.union([
  CompletionEventSchema,
  ScheduledRuleEventSchema,
  SchedulerInputSchema,
]);

export type CheckSummaryEvent = z.output<typeof CheckSummaryEventSchema>;
