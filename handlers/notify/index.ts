import { awsNotifyDependencies, createNotifyHandler } from './handler';

let dependencies: ReturnType<typeof awsNotifyDependencies> | undefined;

/** Subscribed to the alert topic: formats each alert for Slack and JSON webhooks and delivers it. */
export const handler = createNotifyHandler(() => {
  dependencies ??= awsNotifyDependencies(process.env);
  return dependencies();
});
