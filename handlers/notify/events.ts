import * as z from 'zod';

/**
 * An SNS event as Lambda receives it, the fields notify reads. (Powertools' parser schemas would do,
 * but they import all of zod, locales included, which doubles the bundle; `import * as z` tree-shakes.)
 */
export const SnsEventSchema = z.object({
  Records: z
    .array(
      z.object({
        EventSource: z.literal('aws:sns'),
        Sns: z.object({
          Type: z.literal('Notification'),
          MessageId: z.string(),
          TopicArn: z.string(),
          Subject: z.string().nullish(),
          Message: z.string(),
          Timestamp: z.string(),
          MessageAttributes: z
            .record(z.string(), z.object({ Type: z.string(), Value: z.string() }))
            .optional(),
        }),
      }),
    )
    .min(1),
});
