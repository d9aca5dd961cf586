import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { deliverAlert, type NotifyDependencies } from '../../handlers/notify/deliver';
import type { AlertMessage } from '../../handlers/notify/format';
import { createNotifyHandler, logger } from '../../handlers/notify/handler';
import type { Log, WebhookTarget } from '../../handlers/ports';

interface Received {
  readonly path: string;
  readonly contentType: string | undefined;
  readonly body: string;
}

/**
 * A webhook receiver on 127.0.0.1 answering each request with the next scripted status: 'hang' never
 * answers, 'slow-body' sends 200 at once and its body only after 1.5 s, a `Location` path redirects.
 */
let server: Server;
let base: string;
let received: Received[];
let script: (number | 'hang' | 'slow-body' | { redirect: number; location: string })[];
const hanging: ServerResponse[] = [];

beforeAll(async () => {
  logger.setLogLevel('SILENT');
  server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      received.push({
        path: request.url ?? '',
        contentType: request.headers['content-type'],
        body: Buffer.concat(chunks).toString('utf8'),
      });
      const next = script.shift() ?? 200;
      if (next === 'hang') {
        hanging.push(response);
        return;
      }
      if (next === 'slow-body') {
        response.writeHead(200, { 'content-type': 'text/plain' });
        response.flushHeaders();
        setTimeout(() => response.end('ok'), 1500);
        return;
      }
      if (typeof next === 'object') {
        response.writeHead(next.redirect, { location: `${base}${next.location}` }).end();
        return;
      }
      response.writeHead(next, { 'content-type': 'text/plain' }).end(next < 300 ? 'ok' : 'no');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  for (const response of hanging) response.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

beforeEach(() => {
  received = [];
  script = [];
});

const silent: Log = { info: () => undefined, warn: () => undefined, error: () => undefined };

function harness(targets: WebhookTarget[]) {
  const deadLetters: string[] = [];
  const sleeps: number[] = [];
  const deps: NotifyDependencies = {
    targets,
    deadLetters: { send: async (body) => void deadLetters.push(body) },
    log: silent,
    retry: { attempts: 4, firstDelayMs: 500, timeoutMs: 300 },
    sleep: async (ms) => void sleeps.push(ms),
  };
  return { deps, deadLetters, sleeps };
}

const alert: AlertMessage = {
  subject: 'Coverage gap: 20 intervals missing, 2024-11-04 (UTC)',
  message:
    '20 of 48 expected intervals have no data for 2024-11-04 (UTC).\nMissing (end exclusive):\n  2024-11-04 14:00:00 to 2024-11-05 00:00:00',
  attributes: {
    kind: 'coverage_gap',
    severity: 'warning',
    timezone: 'UTC',
    window_start: '2024-11-04 00:00:00',
    window_end: '2024-11-05 00:00:00',
  },
  messageId: 'm-1',
  timestamp: '2024-11-05T06:00:01.000Z',
};

describe('notify delivers to webhooks', () => {
  it('posts Slack blocks to a Slack hook and the alert as data to a JSON hook', async () => {
    const { deps, deadLetters } = harness([
      { name: '/etl/webhooks/slack-oncall', format: 'slack', url: `${base}/slack` },
      { name: '/etl/webhooks/pager', format: 'json', url: `${base}/json` },
    ]);
    const reports = await deliverAlert(alert, deps);
    expect(reports).toEqual([
      { target: '/etl/webhooks/slack-oncall', delivered: true, attempts: 1 },
      { target: '/etl/webhooks/pager', delivered: true, attempts: 1 },
    ]);
    expect(deadLetters).toEqual([]);
    const slack = received.find((r) => r.path === '/slack');
    const json = received.find((r) => r.path === '/json');
    expect(slack?.contentType).toBe('application/json');
    expect(JSON.parse(slack?.body ?? '')).toEqual({
      text: `${alert.subject}\n${alert.message}`,
      mrkdwn: false,
      blocks: [
        { type: 'header', text: { type: 'plain_text', text: alert.subject, emoji: false } },
        { type: 'section', text: { type: 'plain_text', text: alert.message, emoji: false } },
        {
          type: 'context',
          elements: [
            {
              type: 'plain_text',
              text: 'severity: warning | kind: coverage_gap | window: 2024-11-04 00:00:00 to 2024-11-05 00:00:00',
              emoji: false,
            },
          ],
        },
      ],
    });
    expect(JSON.parse(json?.body ?? '')).toEqual({
      source: 'agent-activity-etl',
      kind: 'coverage_gap',
      severity: 'warning',
      subject: alert.subject,
      message: alert.message,
      attributes: alert.attributes,
      message_id: 'm-1',
      timestamp: '2024-11-05T06:00:01.000Z',
    });
  });

  it('retries a 500 with doubling waits until the hook accepts', async () => {
    script = [500, 502, 200];
    const { deps, deadLetters, sleeps } = harness([{ name: 'hook', format: 'json', url: `${base}/json` }]);
    expect(await deliverAlert(alert, deps)).toEqual([{ target: 'hook', delivered: true, attempts: 3 }]);
    expect(received).toHaveLength(3);
    expect(new Set(received.map((r) => r.body)).size).toBe(1);
    expect(sleeps).toEqual([500, 1000]);
    expect(deadLetters).toEqual([]);
  });

  it('does not retry a 400, and dead-letters the alert without the secret URL', async () => {
    script = [400];
    const url = `${base}/services/T000/B000/secret-token`;
    const { deps, deadLetters, sleeps } = harness([
      { name: '/etl/webhooks/slack-team', format: 'slack', url },
    ]);
    expect(await deliverAlert(alert, deps)).toEqual([
      { target: '/etl/webhooks/slack-team', delivered: false, attempts: 1, failure: 'HTTP 400' },
    ]);
    expect(received).toHaveLength(1);
    expect(sleeps).toEqual([]);
    expect(deadLetters).toHaveLength(1);
    expect(deadLetters[0]).not.toContain('secret-token');
    expect(JSON.parse(deadLetters[0] ?? '')).toEqual({
      target: '/etl/webhooks/slack-team',
      format: 'slack',
      failure: 'HTTP 400',
      attempts: 1,
      alert,
    });
  });

  it('dead-letters the alert when every retry fails, timeouts included', async () => {
    script = [503, 'hang', 500, 503];
    const { deps, deadLetters, sleeps } = harness([{ name: 'hook', format: 'json', url: `${base}/json` }]);
    expect(await deliverAlert(alert, deps)).toEqual([
      { target: 'hook', delivered: false, attempts: 4, failure: 'HTTP 503' },
    ]);
    expect(received).toHaveLength(4);
    expect(sleeps).toEqual([500, 1000, 2000]);
    expect(JSON.parse(deadLetters[0] ?? '')).toMatchObject({
      target: 'hook',
      attempts: 4,
      failure: 'HTTP 503',
    });
  });

  it('reports a hook that never answers as a timeout', async () => {
    script = ['hang', 'hang', 'hang', 'hang'];
    const { deps } = harness([{ name: 'hook', format: 'json', url: `${base}/json` }]);
    expect(await deliverAlert(alert, deps)).toEqual([
      { target: 'hook', delivered: false, attempts: 4, failure: 'timeout' },
    ]);
  });

  it('does not follow a redirect: the alert is not re-sent elsewhere, and it is dead-lettered', async () => {
    script = [{ redirect: 307, location: '/elsewhere' }];
    const { deps, deadLetters, sleeps } = harness([{ name: 'hook', format: 'json', url: `${base}/json` }]);
    expect(await deliverAlert(alert, deps)).toEqual([
      { target: 'hook', delivered: false, attempts: 1, failure: 'HTTP 307 (redirect not followed)' },
    ]);
    expect(received.map((r) => r.path)).toEqual(['/json']);
    expect(sleeps).toEqual([]);
    expect(deadLetters).toHaveLength(1);
  });

  it('counts a 2xx status as delivered even when the body comes after the timeout: one post, no duplicate', async () => {
    script = ['slow-body', 200];
    const { deps, deadLetters } = harness([{ name: 'hook', format: 'json', url: `${base}/json` }]);
    expect(await deliverAlert(alert, deps)).toEqual([{ target: 'hook', delivered: true, attempts: 1 }]);
    expect(received).toHaveLength(1);
    expect(deadLetters).toEqual([]);
  });

  it.each([
    ['not a URL', 'hooks.example/x', 'invalid webhook URL: not a valid URL'],
    ['another scheme', 'ftp://127.0.0.1/x', 'invalid webhook URL: not an http(s) URL (scheme ftp:)'],
  ])('treats an invalid URL (%s) as a configuration error: no retries', async (_, url, failure) => {
    const { deps, deadLetters, sleeps } = harness([{ name: 'hook', format: 'json', url }]);
    expect(await deliverAlert(alert, deps)).toEqual([
      { target: 'hook', delivered: false, attempts: 1, failure },
    ]);
    expect(sleeps).toEqual([]);
    expect(deadLetters).toHaveLength(1);
  });

  it('escapes quotes, newlines, markdown and mentions: Slack shows them as typed, JSON carries them verbatim', async () => {
    const hostile: AlertMessage = {
      ...alert,
      subject: 'Pipeline run failed: *run* `x` <!channel>',
      message: 'Object: s3://bronze/ext "1001"\'s _file_ & <https://evil.example|click>\nError: ~boom~\n```',
    };
    const { deps } = harness([
      { name: 'slack', format: 'slack', url: `${base}/slack` },
      { name: 'json', format: 'json', url: `${base}/json` },
    ]);
    await deliverAlert(hostile, deps);
    const slack = JSON.parse(received.find((r) => r.path === '/slack')?.body ?? '');
    expect(slack.mrkdwn).toBe(false);
    expect(slack.blocks[0].text).toEqual({
      type: 'plain_text',
      text: 'Pipeline run failed: *run* `x` &lt;!channel&gt;',
      emoji: false,
    });
    expect(slack.blocks[1].text).toEqual({
      type: 'plain_text',
      text: 'Object: s3://bronze/ext "1001"\'s _file_ &amp; &lt;https://evil.example|click&gt;\nError: ~boom~\n```',
      emoji: false,
    });
    expect(slack.text).not.toContain('<');
    const json = JSON.parse(received.find((r) => r.path === '/json')?.body ?? '');
    expect(json.subject).toBe(hostile.subject);
    expect(json.message).toBe(hostile.message);
  });
});

describe('the notify handler', () => {
  const record = (messageId: string, message: string) => ({
    EventSource: 'aws:sns',
    EventVersion: '1.0',
    EventSubscriptionArn: 'arn:aws:sns:us-east-1:123456789012:alerts:sub',
    Sns: {
      Type: 'Notification',
      MessageId: messageId,
      TopicArn: 'arn:aws:sns:us-east-1:123456789012:alerts',
      Subject: alert.subject,
      Message: message,
      Timestamp: '2024-11-05T06:00:01.000Z',
      SignatureVersion: '1',
      Signature: 'x',
      SigningCertUrl: 'https://sns.example/cert.pem',
      UnsubscribeUrl: 'https://sns.example/unsubscribe',
      MessageAttributes: {
        kind: { Type: 'String', Value: 'coverage_gap' },
        severity: { Type: 'String', Value: 'warning' },
      },
    },
  });

  it('delivers each record of an SNS event, with its message attributes', async () => {
    const { deps } = harness([{ name: 'json', format: 'json', url: `${base}/json` }]);
    const handler = createNotifyHandler(async () => deps);
    const reports = await handler({ Records: [record('m-1', 'first'), record('m-2', 'second')] });
    expect(reports.map((r) => r.delivered)).toEqual([true, true]);
    const bodies = received.map((r) => JSON.parse(r.body));
    expect(bodies.map((b) => [b.message_id, b.message, b.kind, b.severity])).toEqual([
      ['m-1', 'first', 'coverage_gap', 'warning'],
      ['m-2', 'second', 'coverage_gap', 'warning'],
    ]);
  });

  it('refuses an event that is not from SNS', async () => {
    const { deps } = harness([]);
    const handler = createNotifyHandler(async () => deps);
    await expect(handler({ Records: [{ EventSource: 'aws:sqs', body: '{}' }] })).rejects.toThrow(
      /unrecognised event/,
    );
  });
});
