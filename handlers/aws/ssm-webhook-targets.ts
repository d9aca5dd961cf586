import { GetParametersCommand, type SSMClient } from '@aws-sdk/client-ssm';
import type { WebhookTarget } from '../ports';

/** GetParameters takes at most ten names a call. */
const NAMES_PER_CALL = 10;

/**
 * A parameter whose last path segment starts with `slack` (`/agent-etl/prod/webhooks/slack-oncall`)
 * is a Slack-compatible incoming webhook; any other is a generic JSON webhook.
 */
export function webhookFormat(parameterName: string): WebhookTarget['format'] {
  const lastSegment = parameterName.split('/').pop() ?? '';
  return lastSegment.toLowerCase().startsWith('slack') ? 'slack' : 'json';
}

/** Reads webhook URLs from SecureString parameters (decrypted); a missing parameter is an error. */
export async function loadWebhookTargets(
  client: SSMClient,
  names: readonly string[],
): Promise<WebhookTarget[]> {
  const targets: WebhookTarget[] = [];
  for (let i = 0; i < names.length; i += NAMES_PER_CALL) {
    const batch = names.slice(i, i + NAMES_PER_CALL);
    const { Parameters = [], InvalidParameters = [] } = await client.send(
      new GetParametersCommand({ Names: batch, WithDecryption: true }),
    );
    if (InvalidParameters.length > 0) {
      throw new Error(`SSM parameters not found: ${InvalidParameters.join(', ')}`);
    }
    for (const name of batch) {
      const url = Parameters.find((parameter) => parameter.Name === name)?.Value;
      if (!url || !/^https?:\/\//.test(url))
        throw new Error(`SSM parameter ${name} does not hold an http(s) URL`);
      targets.push({ name, format: webhookFormat(name), url });
    }
  }
  return targets;
}
