import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { deliverAlert } from '../../handlers/notify/deliver';
import type { Log } from '../../handlers/ports';

const SECRET = 'hunter2-Secr3t';

let server: Server;
let port: number;
let requests: number;
beforeAll(async () => {
  requests = 0;
  server = createServer((request, response) => {
    requests += 1;
    request.resume();
    response.writeHead(200).end('ok');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

const alert = {
  subject: 'gap',
  message: '3 of 48 intervals missing',
  attributes: { kind: 'coverage_gap' },
  messageId: 'm-1',
  timestamp: '2024-11-06T00:00:00Z',
};

test('a webhook URL holding user:pass@ (as an SSM value may) is not posted to, and its password is never logged nor dead-lettered', async () => {
  const logged: string[] = [];
  const log: Log = {
    info: (message, ...attributes) => logged.push(message, JSON.stringify(attributes)),
    warn: (message, ...attributes) => logged.push(message, JSON.stringify(attributes)),
    error: (message, ...attributes) => logged.push(message, JSON.stringify(attributes)),
  };
  const deadLetters: string[] = [];
  const [report] = await deliverAlert(alert, {
    targets: [
      { name: '/agent-etl/dev/webhooks/ops', format: 'json', url: `http://ops:${SECRET}@127.0.0.1:${port}/` },
    ],
    deadLetters: { send: async (body) => void deadLetters.push(body) },
    log,
    retry: { attempts: 3, firstDelayMs: 1, timeoutMs: 1000 },
    sleep: async () => undefined,
  });
  expect(requests).toBe(0);
  expect(report).toMatchObject({ delivered: false, attempts: 1 });
  expect(report?.failure).toMatch(/^invalid webhook URL: it holds a user name or password/);
  expect(deadLetters).toHaveLength(1);
  expect(JSON.parse(deadLetters[0] ?? '{}')).toMatchObject({ target: '/agent-etl/dev/webhooks/ops' });
  expect(logged.length).toBeGreaterThan(0);
  expect([JSON.stringify(report), ...deadLetters, ...logged].join('\n')).not.toContain(SECRET);
});
